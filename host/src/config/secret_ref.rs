//! References to secrets: `env:NAME`, `file:PATH`, or `kv:VAULT/NAME` (Azure Key Vault, parsed
//! and checked now; fetching it is not supported yet). Values never appear in config files, and
//! nothing here ever formats a value — only the reference.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where a secret's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SecretRef {
    /// An environment variable of the ferry process.
    Env(String),
    /// A file whose contents (trailing newline removed) are the value. Relative paths are
    /// relative to environment.toml.
    File(PathBuf),
    /// A secret in Azure Key Vault: the vault's name and the secret's name.
    KeyVault { vault: String, name: String },
}

impl std::fmt::Display for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretRef::Env(n) => write!(f, "env:{n}"),
            SecretRef::File(p) => write!(f, "file:{}", p.display()),
            SecretRef::KeyVault { vault, name } => write!(f, "kv:{vault}/{name}"),
        }
    }
}

impl SecretRef {
    /// Parses `env:NAME` or `file:PATH`. The error never echoes the text, which may be a
    /// secret pasted by mistake.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(name) = text.strip_prefix("env:") {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(
                    "an `env:` reference needs a variable name of letters, digits and `_`".into(),
                );
            }
            return Ok(SecretRef::Env(name.to_owned()));
        }
        if let Some(path) = text.strip_prefix("file:") {
            if path.is_empty() {
                return Err("a `file:` reference needs a path".into());
            }
            return Ok(SecretRef::File(PathBuf::from(path)));
        }
        if let Some(rest) = text.strip_prefix("kv:") {
            // Key Vault names: letters, digits and `-` (vault 3–24, secret 1–127 characters).
            let ok = |s: &str, max: usize| {
                !s.is_empty()
                    && s.len() <= max
                    && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            };
            return match rest.split_once('/') {
                Some((vault, name)) if vault.len() >= 3 && ok(vault, 24) && ok(name, 127) => {
                    Ok(SecretRef::KeyVault {
                        vault: vault.to_owned(),
                        name: name.to_owned(),
                    })
                }
                _ => Err("a `kv:` reference is `kv:VAULT/SECRET` (letters, digits and `-`)".into()),
            };
        }
        Err("secrets must be references, `env:NAME`, `file:PATH` or `kv:VAULT/SECRET`, never values (the value given here is not shown)".into())
    }

    /// Makes a relative `file:` path relative to `base`.
    pub fn relative_to(self, base: &Path) -> Self {
        match self {
            SecretRef::File(p) if p.is_relative() => SecretRef::File(base.join(p)),
            other => other,
        }
    }

    /// Reads the value. Errors name the reference, never the value.
    pub fn resolve(&self) -> Result<String, String> {
        match self {
            SecretRef::Env(name) => {
                std::env::var(name).map_err(|_| format!("environment variable {name} is not set"))
            }
            SecretRef::File(path) => {
                check_private(path)?;
                std::fs::read_to_string(path)
                    .map(|s| s.trim_end_matches(['\r', '\n']).to_owned())
                    .map_err(|e| format!("cannot read secret file {}: {e}", path.display()))
            }
            SecretRef::KeyVault { .. } => Err(format!(
                "{self}: reading secrets from Azure Key Vault is not supported yet in this ferry \
                 version; use an `env:` or `file:` reference"
            )),
        }
        .and_then(|v| {
            if v.is_empty() {
                Err(format!("{self} is empty"))
            } else {
                Ok(v)
            }
        })
    }
}

/// A secret file that every user of the machine can read is not a secret: refuse it.
fn check_private(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| format!("cannot read secret file {}: {e}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o004 != 0 {
            return Err(format!(
                "secret file {} is readable by every user (mode {:o}); make it private with `chmod 600`",
                path.display(),
                mode & 0o777
            ));
        }
    }
    Ok(())
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        SecretRef::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references_and_refuses_values() {
        assert_eq!(
            SecretRef::parse("env:SRC_PW").unwrap(),
            SecretRef::Env("SRC_PW".into())
        );
        assert_eq!(
            SecretRef::parse("file:pw.txt").unwrap(),
            SecretRef::File("pw.txt".into())
        );
        let err = SecretRef::parse("hunter2-literal").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(SecretRef::parse("env:").is_err());
        assert!(SecretRef::parse("env:A-B").is_err());
    }

    #[test]
    fn key_vault_references_parse_and_say_they_are_not_supported_yet() {
        let r = SecretRef::parse("kv:ferry-vault/src-password").unwrap();
        assert_eq!(r.to_string(), "kv:ferry-vault/src-password");
        let err = r.resolve().unwrap_err();
        assert!(
            err.contains("not supported yet") && err.contains("kv:ferry-vault/src-password"),
            "{err}"
        );
        for bad in [
            "kv:",
            "kv:ab/x",
            "kv:vault",
            "kv:vault/",
            "kv:va_ult/x",
            "kv:vault/a b",
        ] {
            assert!(SecretRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_secret_files_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "value-not-shown\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = SecretRef::File(f.clone()).resolve().unwrap_err();
        assert!(
            err.contains("chmod 600") && !err.contains("value-not-shown"),
            "{err}"
        );
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(SecretRef::File(f).resolve().unwrap(), "value-not-shown");
    }

    #[test]
    fn resolve_errors_name_the_reference_only() {
        let err = SecretRef::Env("FERRY_TEST_SURELY_UNSET".into())
            .resolve()
            .unwrap_err();
        assert!(err.contains("FERRY_TEST_SURELY_UNSET"));
    }
}
