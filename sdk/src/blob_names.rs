//! Blob names in the URLs plugins hand to SQL Server and the Log Replay Service.
//!
//! Azure Blob Storage reads a blob's name from the URL path, so characters a URL reserves
//! (space, `%`, `#`, `?`, non-ASCII letters…) must be percent-encoded there ("Naming and
//! referencing containers, blobs, and metadata", Azure Storage docs); LRS asks the same of
//! `lastBackupName` (`%20` for a space, `%25` for `%`: "Migrate databases by using Log Replay
//! Service", sql-docs). The storage capability takes names as they are and encodes them itself,
//! so a name is encoded exactly where it becomes part of a URL: [`url_in`].

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters is encoded in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One path segment (a folder or file name), percent-encoded.
pub fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// A blob path (`folder/file`), each segment percent-encoded, the `/` between them kept.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// The URL of blob `path` in the container at `container_url` (which has no trailing `/`).
pub fn url_in(container_url: &str, path: &str) -> String {
    format!(
        "{}/{}",
        container_url.trim_end_matches('/'),
        encode_path(path)
    )
}

/// The file name a URL, a blob path or a bare name ends with, decoded.
pub fn file_name(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    percent_decode_str(last).decode_utf8_lossy().into_owned()
}

/// Whether two names (bare, folder-prefixed or whole URLs, encoded or not) name the same file:
/// LRS reports `lastRestoredFileName` either way.
pub fn same_file(a: &str, b: &str) -> bool {
    let (a, b) = (file_name(a), file_name(b));
    !a.is_empty() && a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_characters_are_encoded_in_every_segment() {
        assert_eq!(
            encode_path("Sales db/a%b#1.bak"),
            "Sales%20db/a%25b%231.bak"
        );
        assert_eq!(encode_path("Café/x_1-2.~.trn"), "Caf%C3%A9/x_1-2.~.trn");
        assert_eq!(
            url_in("https://a.blob.core.windows.net/c/", "Sales db/full.bak"),
            "https://a.blob.core.windows.net/c/Sales%20db/full.bak"
        );
    }

    #[test]
    fn a_file_is_the_same_bare_prefixed_or_encoded() {
        assert!(same_file("Sales_tail.trn", "Sales/Sales_tail.trn"));
        assert!(same_file("https://a/c/My%20Db/log%201.trn", "log 1.trn"));
        assert!(!same_file("Sales_tail.trn", "Sales/other.trn"));
        assert!(!same_file("", ""));
        assert_eq!(file_name("x/a%25b.bak"), "a%b.bak");
    }
}
