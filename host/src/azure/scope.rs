//! Where an azure label reaches: the ARM path of its scope (a subscription, a resource group
//! or one managed instance), and the check that a plugin's relative path stays inside it. A
//! plugin granted MI "a" must not reach MI "b" by `..`, an absolute path, an encoded slash or
//! a second query string.

use crate::config::AzureLabel;

/// The scope's ARM path, without a trailing slash.
pub fn scope_path(label: &AzureLabel) -> String {
    let mut p = format!("/subscriptions/{}", label.subscription);
    if let Some(rg) = &label.resource_group {
        p.push_str(&format!("/resourceGroups/{rg}"));
        if let Some(mi) = &label.managed_instance {
            p.push_str(&format!("/providers/Microsoft.Sql/managedInstances/{mi}"));
        }
    }
    p
}

/// Query parameters a plugin may add after `?` (at most this many): ARM's `$expand`,
/// `$filter`-free reads such as DMS's `$expand=MigrationStatusDetails&migrationOperationId=…` and
/// `force=true` on a DELETE need a few; `api-version` is the request's own field.
const MAX_QUERY_PARAMS: usize = 4;

/// Whether `query` (after `?`) is plain `name=value` pairs: names letters and digits (an
/// optional leading `$`), values letters, digits and `-_.:,` only, so nothing in it can be
/// decoded into something else by the server (no `%`, `+`, `/`, `&` inside a value).
fn plain_query(query: &str) -> Result<(), &'static str> {
    let pairs: Vec<&str> = query.split('&').collect();
    if pairs.len() > MAX_QUERY_PARAMS {
        return Err("has more query parameters than ferry passes on");
    }
    for pair in pairs {
        let Some((name, value)) = pair.split_once('=') else {
            return Err("has a query parameter without a value");
        };
        let bare = name.strip_prefix('$').unwrap_or(name);
        if bare.is_empty() || !bare.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err("has a query parameter name that is not letters and digits");
        }
        if name.eq_ignore_ascii_case("api-version") || name.eq_ignore_ascii_case("apiversion") {
            return Err("sets api-version in the path (it is the request's own field)");
        }
        if value.is_empty()
            || !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:,".contains(c))
        {
            return Err("has a query value that is not plain letters, digits and -_.:,");
        }
    }
    Ok(())
}

/// The full ARM path for `relative` under `scope` (with its query, if it has a plain one), or
/// why it would leave the scope.
pub fn resolve(scope: &str, relative: &str) -> Result<String, String> {
    let bad = |why: &str| {
        Err(format!(
            "ARM path `{}` {why}; paths are relative to the label's scope {scope}",
            relative.escape_default()
        ))
    };
    if relative.starts_with('/') {
        return bad("is absolute");
    }
    let (relative_path, query) = match relative.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (relative, None),
    };
    if let Some(q) = query
        && let Err(why) = plain_query(q)
    {
        return bad(why);
    }
    let relative = relative_path;
    if relative.contains(['?', '#', '\\']) || relative.chars().any(char::is_control) {
        return bad("holds a fragment, backslash or control character");
    }
    // Percent-encoding is refused outright: `%2e%2e` and `%2f` would be decoded by the server
    // after this check, and no ARM resource name ferry uses needs one.
    if relative.contains('%') {
        return bad("is percent-encoded");
    }
    let segments: Vec<&str> = relative.split('/').collect();
    let with_query = |p: String| match query {
        Some(q) => format!("{p}?{q}"),
        None => p,
    };
    if relative.is_empty() {
        return Ok(with_query(scope.to_owned()));
    }
    if segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == "..")
    {
        return bad("has an empty, `.` or `..` segment");
    }
    Ok(with_query(format!("{scope}/{relative}")))
}

/// Whether an absolute URL the service handed back (an `Azure-AsyncOperation` or `Location`
/// header) points at the same ARM endpoint: the bearer token goes only there.
pub fn same_endpoint(endpoint: &str, url: &str) -> bool {
    match (reqwest::Url::parse(endpoint), reqwest::Url::parse(url)) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme()
                && a.host_str() == b.host_str()
                && a.port_or_known_default() == b.port_or_known_default()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI_A: &str =
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/a";

    #[test]
    fn paths_stay_inside_the_scope() {
        // (relative path, allowed)
        for (path, allowed) in [
            ("", true),
            ("databases/Sales", true),
            ("databases/Sales/restoreDetails/Default", true),
            ("operations", true),
            ("../b", false),
            ("databases/../../b", false),
            (
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/b",
                false,
            ),
            ("databases/%2e%2e/%2e%2e/b", false),
            ("databases/Sales?api-version=x", false),
            ("databases/Sales?API-VERSION=x", false),
            (
                "providers/Microsoft.DataMigration/databaseMigrations/Sales?$expand=MigrationStatusDetails&migrationOperationId=0f6b2c1e-1d2a-4c8e-9a51-2b1f3d2c9e77",
                true,
            ),
            ("databases/Sales?force=true", true),
            ("databases/Sales?$expand=a%2fb", false),
            ("databases/Sales?$expand=a/../b", false),
            ("databases/Sales?$expand=a+b", false),
            ("databases/Sales?$expand", false),
            ("databases/Sales?=x", false),
            ("databases/Sales?a=1&b=2&c=3&d=4&e=5", false),
            ("databases/Sales?a=1?b=2", false),
            ("../b?force=true", false),
            ("databases/Sales?x=1#frag", false),
            ("databases//Sales", false),
            ("databases/./Sales", false),
            ("databases\\..\\b", false),
            ("databases/Sales#x", false),
        ] {
            let r = resolve(MI_A, path);
            assert_eq!(r.is_ok(), allowed, "{path}: {r:?}");
            if let Ok(p) = r {
                assert!(p.starts_with(MI_A), "{p}");
                assert_eq!(
                    p.matches('?').count(),
                    usize::from(path.contains('?')),
                    "{p}"
                );
            }
        }
    }

    #[test]
    fn the_token_goes_only_to_the_labels_endpoint() {
        let e = "https://management.azure.com";
        assert!(same_endpoint(
            e,
            "https://management.azure.com/subscriptions/x/op?a=1"
        ));
        assert!(same_endpoint(e, "https://management.azure.com:443/x"));
        assert!(!same_endpoint(e, "https://evil.example/x"));
        assert!(!same_endpoint(e, "http://management.azure.com/x"));
        assert!(!same_endpoint(
            "http://127.0.0.1:8080",
            "http://127.0.0.1:9090/x"
        ));
    }

    #[test]
    fn the_scope_path_follows_the_label() {
        let mut l = AzureLabel {
            endpoint: None,
            subscription: "s1".into(),
            resource_group: None,
            managed_instance: None,
            token: None,
            entra: None,
            entra_client_id: None,
        };
        assert_eq!(scope_path(&l), "/subscriptions/s1");
        l.resource_group = Some("rg".into());
        l.managed_instance = Some("a".into());
        assert_eq!(scope_path(&l), MI_A);
    }
}
