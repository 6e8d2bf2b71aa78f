//! The baseline between the two steps. A step cannot read another step's output (the host
//! gives a step its own state, its config and the grants; the journal's outputs are the
//! report's), so `before` writes its capture as JSON into the storage label `baseline_from`
//! (a blob container or a share) and `after` reads it back: the host's ordinary small-object
//! `write` and `read`, each under its grant.

use ferry_sdk::prelude::*;

use crate::config::Config;
use crate::model::{Capture, FORMAT};

/// The host's cap on one `read` or `write` (storage.wit): a baseline is far smaller.
const MAX_BYTES: u64 = 4 << 20;

fn label(cx: &Context<'_, Config>) -> Result<String> {
    cx.config().baseline_from.clone().ok_or_else(|| {
        Error::invalid_config(
            Some("baseline_from"),
            "is needed: the storage label the baseline is kept in",
        )
    })
}

/// Writes the baseline of `item`; returns where it went.
pub fn save(cx: &mut Context<'_, Config>, item: &str, capture: &Capture) -> Result<String> {
    let label = label(cx)?;
    let name = cx.config().object_name(item);
    let data = serde_json::to_vec_pretty(capture)
        .map_err(|e| Error::failed(format!("the baseline of [{item}] as JSON: {e}")))?;
    if data.len() as u64 > MAX_BYTES {
        return Err(Error::failed(format!(
            "the baseline of [{item}] is {} bytes, more than a storage write takes ({MAX_BYTES}); \
             lower `top`",
            data.len()
        )));
    }
    let c = cx.container(&label)?;
    cx.write(c, &name, &data)?;
    Ok(format!("`{name}` in `{label}`"))
}

/// Reads the baseline of `item` back; a missing, unreadable or foreign one is an error that
/// says where it looked and what to do.
pub fn load(cx: &mut Context<'_, Config>, item: &str) -> Result<Capture> {
    let label = label(cx)?;
    let name = cx.config().object_name(item);
    let c = cx.container(&label)?;
    let Some(info) = cx.stat(c, &name)? else {
        return Err(Error::failed(format!(
            "no baseline for [{item}]: `{name}` is not in `{label}`. Run the `before` step \
             (phase = \"before\", the same baseline_from and baseline_path) on the source first"
        )));
    };
    if info.size > MAX_BYTES {
        return Err(Error::failed(format!(
            "`{name}` in `{label}` is {} bytes: not a baseline ferry wrote",
            info.size
        )));
    }
    let data = cx.read(c, &name, 0, info.size as u32)?;
    let capture: Capture = serde_json::from_slice(&data).map_err(|e| {
        Error::failed(format!(
            "`{name}` in `{label}` is not a baseline ferry can read ({e})"
        ))
    })?;
    if capture.format != FORMAT {
        return Err(Error::failed(format!(
            "`{name}` in `{label}` is a baseline of format `{}`; this ferry reads `{FORMAT}`: \
             capture it again with the `before` step",
            capture.format
        )));
    }
    if capture.database != item {
        return Err(Error::failed(format!(
            "`{name}` in `{label}` is the baseline of [{}], not of [{item}]: check baseline_path",
            capture.database
        )));
    }
    Ok(capture)
}
