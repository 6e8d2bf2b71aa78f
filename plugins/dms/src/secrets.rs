//! The sealed values an ARM body carries, opened by label: each goes into the body as
//! `"{{name}}"`, which the host replaces with the value; the plugin, its plans and its logs
//! only ever see the placeholder.

use ferry_sdk::Secret;
use ferry_sdk::prelude::*;

use crate::config::Config;

/// (placeholder name, secret) for every secret the migration's body and `validateIr` use.
pub fn open(cx: &mut Context<'_, Config>) -> Result<Vec<(&'static str, Secret)>> {
    let cfg = cx.config().clone();
    let mut out = vec![("source_password", cx.secret(&cfg.source_password_secret)?)];
    if let Some(s) = &cfg.share {
        out.push(("share_password", cx.secret(&s.password_secret)?));
    }
    if let Some(t) = &cfg.target_storage
        && cfg.share.is_some()
    {
        out.push(("target_account_key", cx.secret(&t.account_key_secret)?));
    }
    if let Some(b) = &cfg.blob {
        out.push(("account_key", cx.secret(&b.account_key_secret)?));
    }
    Ok(out)
}
