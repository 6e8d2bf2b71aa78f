//! A share: a local or mounted directory (the on-premises backup share of the migration
//! guides). Every access goes through a cap-std `Dir` opened on the label's root, so `..`,
//! absolute paths and symlinks that lead outside the root are refused by construction; names
//! are also checked up front so the refusal says what was wrong.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use crate::bindings::failed;
use crate::bindings::ferry::plugin::storage::{ListPage, ObjectInfo};
use crate::bindings::types::PluginError;

/// One share label's root.
#[derive(Clone)]
pub struct Share {
    label: String,
    root: PathBuf,
}

impl Share {
    pub fn new(label: &str, root: &Path) -> Share {
        Share {
            label: label.to_owned(),
            root: root.to_owned(),
        }
    }

    fn dir(&self) -> Result<Dir, PluginError> {
        Dir::open_ambient_dir(&self.root, ambient_authority()).map_err(|e| {
            failed(format!(
                "share `{}`: cannot open {}: {e}",
                self.label,
                self.root.display()
            ))
        })
    }

    /// A name relative to the root, with `/` separators, that stays inside it.
    pub fn checked<'a>(&self, name: &'a str) -> Result<&'a Path, PluginError> {
        let p = Path::new(name);
        let escapes = p.is_absolute() || p.components().any(|c| !matches!(c, Component::Normal(_)));
        if name.is_empty() || escapes {
            return Err(PluginError::Denied(crate::bindings::types::Denial {
                kind: crate::bindings::types::CapabilityKind::Storage,
                label: self.label.clone(),
                reason: format!(
                    "`{}` is not a plain relative name inside share `{}` (no `..`, no absolute paths)",
                    name.escape_default(),
                    self.label
                ),
            }));
        }
        Ok(p)
    }

    fn io_error(&self, name: &str, e: std::io::Error) -> PluginError {
        // cap-std refuses a symlink that leads out of the root with PermissionDenied.
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            return PluginError::Denied(crate::bindings::types::Denial {
                kind: crate::bindings::types::CapabilityKind::Storage,
                label: self.label.clone(),
                reason: format!(
                    "`{}` leads outside share `{}`",
                    name.escape_default(),
                    self.label
                ),
            });
        }
        failed(format!("share `{}`: {}: {e}", self.label, name))
    }

    fn info(&self, name: String, meta: &cap_std::fs::Metadata) -> ObjectInfo {
        ObjectInfo {
            name,
            size: meta.len(),
            last_modified: None,
            content_md5: None,
        }
    }

    /// Files under the root whose names start with `prefix`, in name order, after `marker`.
    pub fn list(
        &self,
        prefix: &str,
        marker: Option<&str>,
        max: u32,
    ) -> Result<ListPage, PluginError> {
        let dir = self.dir()?;
        let mut names = Vec::new();
        walk(&dir, "", &mut names).map_err(|e| self.io_error(prefix, e))?;
        names.sort();
        let mut objects = Vec::new();
        let mut more = None;
        for (name, size) in names
            .into_iter()
            .filter(|(n, _)| n.starts_with(prefix) && marker.is_none_or(|m| n.as_str() > m))
        {
            if objects.len() as u32 >= max.clamp(1, 5000) {
                more = objects.last().map(|o: &ObjectInfo| o.name.clone());
                break;
            }
            objects.push(ObjectInfo {
                name,
                size,
                last_modified: None,
                content_md5: None,
            });
        }
        Ok(ListPage {
            objects,
            next_marker: more,
        })
    }

    pub fn stat(&self, name: &str) -> Result<Option<ObjectInfo>, PluginError> {
        let path = self.checked(name)?;
        match self.dir()?.metadata(path) {
            Ok(m) if m.is_file() => Ok(Some(self.info(name.to_owned(), &m))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io_error(name, e)),
        }
    }

    pub fn read(&self, name: &str, offset: u64, length: u32) -> Result<Vec<u8>, PluginError> {
        let path = self.checked(name)?;
        let mut f = self.dir()?.open(path).map_err(|e| self.io_error(name, e))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| self.io_error(name, e))?;
        let mut buf = Vec::new();
        f.take(u64::from(length))
            .read_to_end(&mut buf)
            .map_err(|e| self.io_error(name, e))?;
        Ok(buf)
    }

    pub fn write(&self, name: &str, data: &[u8]) -> Result<(), PluginError> {
        let path = self.checked(name)?;
        let dir = self.dir()?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Opening first tells a link that leads out (refused by cap-std) apart from a folder
            // that is simply missing; create_dir_all alone reports the link as "file exists".
            match dir.open_dir(parent) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => dir
                    .create_dir_all(parent)
                    .map_err(|e| self.io_error(name, e))?,
                Err(e) => return Err(self.io_error(name, e)),
            }
        }
        dir.write(path, data).map_err(|e| self.io_error(name, e))
    }

    pub fn delete(&self, name: &str) -> Result<bool, PluginError> {
        let path = self.checked(name)?;
        match self.dir()?.remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.io_error(name, e)),
        }
    }
}

/// Every file under `dir`, as (relative name, size). Symlinks are not followed.
fn walk(dir: &Dir, base: &str, out: &mut Vec<(String, u64)>) -> std::io::Result<()> {
    for entry in dir.entries()? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let full = if base.is_empty() {
            name.clone()
        } else {
            format!("{base}/{name}")
        };
        let ft = entry.file_type()?;
        if ft.is_dir() {
            walk(&entry.open_dir()?, &full, out)?;
        } else if ft.is_file() {
            out.push((full, entry.metadata()?.len()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share() -> (tempfile::TempDir, tempfile::TempDir, Share) {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "outside").unwrap();
        std::fs::create_dir(root.path().join("Sales")).unwrap();
        std::fs::write(root.path().join("Sales/full.bak"), "0123456789").unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.txt"),
            root.path().join("link-out"),
        )
        .unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("dir-out")).unwrap();
        let s = Share::new("backups", root.path());
        (root, outside, s)
    }

    #[test]
    fn reads_writes_lists_inside_the_root() {
        let (_r, _o, s) = share();
        assert_eq!(s.read("Sales/full.bak", 2, 3).unwrap(), b"234");
        s.write("Sales/log/1.trn", b"log").unwrap();
        let page = s.list("Sales/", None, 10).unwrap();
        assert_eq!(
            page.objects
                .iter()
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>(),
            ["Sales/full.bak", "Sales/log/1.trn"]
        );
        let first = s.list("Sales/", None, 1).unwrap();
        assert_eq!(first.objects.len(), 1);
        let rest = s.list("Sales/", first.next_marker.as_deref(), 10).unwrap();
        assert_eq!(rest.objects[0].name, "Sales/log/1.trn");
        assert_eq!(s.stat("Sales/full.bak").unwrap().unwrap().size, 10);
        assert!(s.stat("nope").unwrap().is_none());
        assert!(s.delete("Sales/log/1.trn").unwrap());
        assert!(!s.delete("Sales/log/1.trn").unwrap());
    }

    /// (name, why it must be refused)
    const ESCAPES: &[(&str, &str)] = &[
        ("../outside.txt", "parent directory"),
        ("Sales/../../x", "parent directory inside"),
        ("/etc/passwd", "absolute path"),
        ("link-out", "symlink to a file outside"),
        ("dir-out/secret.txt", "symlink to a directory outside"),
    ];

    #[test]
    fn escapes_are_refused() {
        let (_r, _o, s) = share();
        for (name, why) in ESCAPES {
            let read = s.read(name, 0, 100);
            assert!(
                matches!(read, Err(PluginError::Denied(_))),
                "{why}: {name} → {read:?}"
            );
            let write = s.write(name, b"x");
            assert!(
                matches!(write, Err(PluginError::Denied(_))),
                "{why}: write {name} → {write:?}"
            );
        }
        let outside: Vec<_> = std::fs::read_dir(_o.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            outside,
            ["secret.txt"],
            "nothing was created outside the root"
        );
        assert_eq!(
            std::fs::read_to_string(_o.path().join("secret.txt")).unwrap(),
            "outside"
        );
        assert!(
            !s.list("", None, 100)
                .unwrap()
                .objects
                .iter()
                .any(|o| o.name.contains("secret")),
            "listing does not follow links out"
        );
    }
}
