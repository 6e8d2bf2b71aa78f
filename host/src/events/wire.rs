//! The JSON shape of events, kept byte for byte as it was when the host built events as
//! `serde_json` maps, so `--json` consumers and journals written by earlier versions keep working:
//!
//! - an [`Envelope`] line is `event`, then `run`, `step` and `item`, then the event's fields;
//! - a bare line (a command's closing line) is one object;
//! - the journal keeps an event's name in its `kind` column and its fields in `data`.
//!
//! Keys of an event's own fields are in sorted order at every depth, as a `serde_json::Map`
//! writes them. The maps here exist only to write and read that shape; modules exchange typed
//! [`RunEvent`]s.

use serde::ser::{Error as _, SerializeMap};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::{Envelope, RunEvent};

/// The key that names an event.
const TAG: &str = "event";

/// The event's name and its fields (keys sorted).
fn split(event: &RunEvent) -> serde_json::Result<(String, Map<String, Value>)> {
    let Value::Object(mut fields) = serde_json::to_value(event)? else {
        return Err(serde_json::Error::custom("an event is not a JSON object"));
    };
    match fields.remove(TAG) {
        Some(Value::String(name)) => Ok((name, fields)),
        _ => Err(serde_json::Error::custom("an event has no name")),
    }
}

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (name, fields) = split(&self.event).map_err(S::Error::custom)?;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(TAG, &name)?;
        map.serialize_entry("run", &self.run)?;
        if let Some(step) = &self.step {
            map.serialize_entry("step", step)?;
        }
        if let Some(item) = &self.item {
            map.serialize_entry("item", item)?;
        }
        for (key, value) in &fields {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// A bare event as one line of JSON, every key sorted (`event` among them).
pub fn json_line(event: &RunEvent) -> serde_json::Result<String> {
    serde_json::to_string(&serde_json::to_value(event)?)
}

/// The `kind` and `data` the journal stores for an event.
pub(crate) fn to_journal(event: &RunEvent) -> serde_json::Result<(String, String)> {
    let (name, fields) = split(event)?;
    Ok((name, serde_json::to_string(&fields)?))
}

/// An event from the journal's `kind` and `data`.
pub(crate) fn from_journal(kind: &str, data: &str) -> serde_json::Result<RunEvent> {
    let mut fields: Map<String, Value> = serde_json::from_str(data)?;
    fields.insert(TAG.to_owned(), Value::String(kind.to_owned()));
    serde_json::from_value(Value::Object(fields))
}

#[cfg(test)]
mod tests;
