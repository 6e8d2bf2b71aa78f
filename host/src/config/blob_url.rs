//! The `url` of a blob storage label: which URLs ferry accepts and what it reads from one. The
//! environment is refused at load for a URL the blob backend could not use, and the backend
//! reads its container from the same parse.

use url::{Host, Url};

/// A blob container (and optionally a prefix in it), read from a label's `url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobAddress {
    /// `https://acct.blob.core.windows.net/container` or `http://127.0.0.1:port/acct/container`.
    pub container_url: String,
    pub account: String,
    pub container: String,
    /// Names the label covers start with this (empty, or ending in `/`).
    pub prefix: String,
}

/// What a blob `url` may look like, for messages.
const ACCEPTED: &str = "give https://ACCOUNT.blob.core.windows.net/CONTAINER (optionally \
    /PREFIX after it), or http://127.0.0.1:PORT/ACCOUNT/CONTAINER for Azurite on this machine";

impl BlobAddress {
    /// Reads a blob label's URL. Accepted: `https` to any host; `http` only to a loopback
    /// address (Azurite on this machine), since anything else would send the SAS, the key's
    /// signatures and the backups across a network in clear. A SAS or a password in the URL
    /// is refused without echoing the URL: secrets are references (`sas = "env:NAME"`).
    pub fn parse(url: &str) -> Result<BlobAddress, String> {
        let u = Url::parse(url).map_err(|e| format!("`url` is not a URL ({e}); {ACCEPTED}"))?;
        if !u.username().is_empty() || u.password().is_some() || u.query().is_some() {
            return Err(
                "`url` holds a user name, a password or a query (a SAS?), which are secrets \
                 (the URL is not shown): keep only the container's address in `url` and put \
                 the SAS in `sas = \"env:NAME\"`"
                    .into(),
            );
        }
        let shown = u.as_str();
        let loopback = match u.host() {
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match u.scheme() {
            "https" if u.host().is_some() => {}
            "http" if loopback => {}
            "http" => {
                return Err(format!(
                    "`{shown}` is plain http to another machine, which would carry the SAS and \
                     the backups in clear; use https (plain http is for Azurite on loopback)"
                ));
            }
            other => {
                return Err(format!(
                    "`{shown}` is a {other}: URL, not a blob container's address; {ACCEPTED}"
                ));
            }
        }
        if u.fragment().is_some() {
            return Err(format!("`{shown}` has a `#` fragment; {ACCEPTED}"));
        }
        let host = u.host_str().unwrap_or_default().to_owned();
        // Emulators (Azurite) use path-style URLs: the account is the first path segment.
        let path_style = loopback || matches!(u.host(), Some(Host::Ipv4(_) | Host::Ipv6(_)));
        let mut segments: Vec<&str> = u.path().split('/').filter(|s| !s.is_empty()).collect();
        let account = if path_style {
            if segments.is_empty() {
                return Err(format!(
                    "`{shown}` names no account (an address by IP or `localhost` is path-style: \
                     http://127.0.0.1:10000/ACCOUNT/CONTAINER)"
                ));
            }
            segments.remove(0).to_owned()
        } else {
            host.split('.').next().unwrap_or_default().to_owned()
        };
        let Some(container) = segments.first().map(|s| s.to_string()) else {
            return Err(format!("`{shown}` names no container; {ACCEPTED}"));
        };
        let rest = segments[1..].join("/");
        let base = format!(
            "{}://{}{}",
            u.scheme(),
            host,
            u.port().map(|p| format!(":{p}")).unwrap_or_default()
        );
        let container_url = if path_style {
            format!("{base}/{account}/{container}")
        } else {
            format!("{base}/{container}")
        };
        Ok(BlobAddress {
            container_url,
            account,
            container,
            prefix: if rest.is_empty() {
                rest
            } else {
                format!("{rest}/")
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_and_azurite_addresses_are_read() {
        let a =
            BlobAddress::parse("https://acct.blob.core.windows.net/backups/Sales/2026").unwrap();
        assert_eq!(
            a.container_url,
            "https://acct.blob.core.windows.net/backups"
        );
        assert_eq!(
            (a.account.as_str(), a.container.as_str()),
            ("acct", "backups")
        );
        assert_eq!(a.prefix, "Sales/2026/");
        let a = BlobAddress::parse("http://127.0.0.1:10000/devstoreaccount1/backups").unwrap();
        assert_eq!(
            a.container_url,
            "http://127.0.0.1:10000/devstoreaccount1/backups"
        );
        assert_eq!(a.account, "devstoreaccount1");
        assert_eq!(a.prefix, "");
        assert!(BlobAddress::parse("http://localhost:10000/devstoreaccount1/c").is_ok());
        assert!(BlobAddress::parse("http://[::1]:10000/devstoreaccount1/c").is_ok());
    }

    #[test]
    fn other_schemes_and_remote_plain_http_are_refused_saying_what_is_accepted() {
        for (url, phrase) in [
            ("file:///var/backups/c", "is a file: URL"),
            ("ftp://host/acct/c", "is a ftp: URL"),
            (
                "http://acct.blob.core.windows.net/c",
                "plain http to another machine",
            ),
            (
                "http://10.0.0.5:10000/acct/c",
                "plain http to another machine",
            ),
            ("https://acct.blob.core.windows.net", "names no container"),
            ("http://127.0.0.1:10000/", "names no account"),
            ("not a url", "is not a URL"),
        ] {
            let e = BlobAddress::parse(url).unwrap_err();
            assert!(e.contains(phrase), "{url}: {e}");
        }
        assert!(
            BlobAddress::parse("file:///x/c")
                .unwrap_err()
                .contains("https://ACCOUNT.blob.core.windows.net/CONTAINER")
        );
    }

    #[test]
    fn a_secret_in_the_url_is_refused_without_echoing_it() {
        for url in [
            "https://acct.blob.core.windows.net/c?sv=2022&sig=SECRETSIG",
            "https://user:SECRETSIG@acct.blob.core.windows.net/c",
        ] {
            let e = BlobAddress::parse(url).unwrap_err();
            assert!(e.contains("secrets") && !e.contains("SECRETSIG"), "{e}");
        }
    }
}
