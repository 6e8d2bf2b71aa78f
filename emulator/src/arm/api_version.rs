//! The `api-version`s the emulated Microsoft.Sql endpoints answer, and ARM's refusal of any
//! other.
//!
//! The list is the versions of Azure/azure-rest-api-specs
//! `specification/sql/resource-manager/Microsoft.Sql/{stable,preview}/<version>/` whose
//! `ManagedDatabases.json`, `ManagedInstances.json` and `ManagedDatabaseRestoreDetails.json`
//! the emulator's answers were checked against. Azure accepts older versions as well; the
//! emulator refuses them rather than answer in a shape nobody checked (the stricter choice).

use axum::http::StatusCode;
use axum::response::Response;

use super::reply::error;

/// How a version shapes `restoreDetails` (ManagedDatabaseRestoreDetails.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RestoreDetailsShape {
    /// `unrestorableFiles` is `string[]`, `percentCompleted` a double, no backup-set arrays
    /// (stable 2021-11-01 and 2023-08-01).
    Legacy,
    /// `unrestorableFiles` is `[{name}]`, `percentCompleted` an int32, plus `type`, the
    /// size and file counts and `fullBackupSets`/`diffBackupSets`/`logBackupSets` (previews
    /// from 2023-02-01-preview, stable 2025-01-01).
    Rich,
}

/// Each version answered and its `restoreDetails` shape.
const SUPPORTED: &[(&str, RestoreDetailsShape)] = &[
    ("2021-11-01", RestoreDetailsShape::Legacy),
    ("2023-02-01-preview", RestoreDetailsShape::Rich),
    ("2023-05-01-preview", RestoreDetailsShape::Rich),
    ("2023-08-01", RestoreDetailsShape::Legacy),
    ("2023-08-01-preview", RestoreDetailsShape::Rich),
    ("2024-05-01-preview", RestoreDetailsShape::Rich),
    ("2024-11-01-preview", RestoreDetailsShape::Rich),
    ("2025-01-01", RestoreDetailsShape::Rich),
    ("2025-02-01-preview", RestoreDetailsShape::Rich),
];

/// A version the emulator answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ApiVersion {
    text: &'static str,
    shape: RestoreDetailsShape,
}

impl ApiVersion {
    pub(super) fn as_str(self) -> &'static str {
        self.text
    }

    pub(super) fn shape(self) -> RestoreDetailsShape {
        self.shape
    }
}

/// Why a request's `api-version` is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum VersionRefusal {
    Missing,
    /// Not `YYYY-MM-DD` with an optional `-suffix`.
    Malformed(String),
    /// Well formed, but not one the resource type has.
    Unknown(String),
}

/// The `api-version` of a query string.
pub(super) fn from_query(query: Option<&str>) -> Result<ApiVersion, VersionRefusal> {
    let asked = query
        .unwrap_or_default()
        .split('&')
        .find_map(|kv| kv.strip_prefix("api-version="))
        .ok_or(VersionRefusal::Missing)?;
    if let Some((text, shape)) = SUPPORTED.iter().find(|(v, _)| *v == asked) {
        return Ok(ApiVersion {
            text,
            shape: *shape,
        });
    }
    let (date, suffix) = asked.split_at(asked.len().min(10));
    let date_like = date.len() == 10
        && date.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        });
    let suffix_ok = suffix.is_empty()
        || suffix
            .strip_prefix('-')
            .is_some_and(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()));
    if date_like && suffix_ok {
        Err(VersionRefusal::Unknown(asked.to_owned()))
    } else {
        Err(VersionRefusal::Malformed(asked.to_owned()))
    }
}

fn supported_list() -> String {
    SUPPORTED
        .iter()
        .map(|(v, _)| *v)
        .collect::<Vec<_>>()
        .join(", ")
}

/// ARM's answer to a refused version for `resource_type` (e.g. `managedInstances/databases`)
/// in `location`.
///
/// - Missing: 400 `MissingApiVersionParameter` (ARM's answer to a request without one).
/// - Unknown: 400 `NoRegisteredProviderFound`, "No registered resource provider found for
///   location {location} and API version {api-version} for type {resource-type}", listing
///   the supported versions and locations (learn.microsoft.com, "Resolve errors for resource
///   provider registration").
/// - Malformed: 400 `InvalidApiVersionParameter`, "The api-version '…' is invalid. The
///   supported versions are '…'". The documents do not say which of the two a string that is
///   not a version at all gets; ARM answers this one for it, and it is a refusal either way.
pub(super) fn refusal(why: &VersionRefusal, location: &str, resource_type: &str) -> Response {
    match why {
        VersionRefusal::Missing => error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ),
        VersionRefusal::Unknown(v) => error(
            StatusCode::BAD_REQUEST,
            "NoRegisteredProviderFound",
            &format!(
                "No registered resource provider found for location '{location}' and API version \
                 '{v}' for type '{resource_type}'. The supported api-versions are '{}'. The \
                 supported locations are '{location}'.",
                supported_list()
            ),
        ),
        VersionRefusal::Malformed(v) => error(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            &format!(
                "The api-version '{}' is invalid. The supported versions are '{}'.",
                v.escape_default(),
                supported_list()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_known_unknown_or_malformed() {
        let shape = |q: &str| from_query(Some(q)).map(ApiVersion::shape);
        assert_eq!(
            shape("api-version=2023-08-01"),
            Ok(RestoreDetailsShape::Legacy)
        );
        assert_eq!(
            shape("x=1&api-version=2025-01-01"),
            Ok(RestoreDetailsShape::Rich)
        );
        assert_eq!(shape("x=1"), Err(VersionRefusal::Missing));
        assert_eq!(
            shape("api-version=2099-01-01"),
            Err(VersionRefusal::Unknown("2099-01-01".into()))
        );
        assert_eq!(
            shape("api-version=2024-05-01-privatepreview"),
            Err(VersionRefusal::Unknown("2024-05-01-privatepreview".into()))
        );
        for bad in ["latest", "2023-8-01", "2023-08-01-", "2023-08-01x"] {
            assert_eq!(
                shape(&format!("api-version={bad}")),
                Err(VersionRefusal::Malformed(bad.into()))
            );
        }
    }
}
