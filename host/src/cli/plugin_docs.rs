//! `ferry plugin docs`: the SDK's rustdoc, built by cargo from the SDK a new plugin depends on.
//! Built on demand rather than carried in the binary: the pages are several megabytes, and
//! they must describe the SDK the author's plugin actually builds against.

use std::process::Command;

use super::args::{Exit, Global, PluginDocsArgs};
use super::common::{cache_dir, error};
use super::plugin_new::sdk_dir;

pub(super) fn plugin_docs(g: &Global, args: &PluginDocsArgs) -> Exit {
    let sdk = match sdk_dir(args.sdk.as_deref()) {
        Ok(sdk) => sdk,
        Err(e) => return error(g, Exit::InvalidInput, &e),
    };
    let Some(target) = args
        .target_dir
        .clone()
        .or_else(|| cache_dir(g).map(|d| d.join("sdk-docs")))
    else {
        return error(
            g,
            Exit::InvalidInput,
            "no cache directory to build the docs in (HOME is unset and --no-cache was given); \
             pass --target-dir",
        );
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.args(["doc", "--no-deps", "--locked", "-p", "ferry-sdk"])
        .arg("--manifest-path")
        .arg(sdk.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target);
    if args.open {
        cmd.arg("--open");
    }
    // cargo's progress goes to our stderr as it comes: the first build takes a minute.
    let status = match cmd.status() {
        Ok(s) => s,
        Err(e) => {
            return error(
                g,
                Exit::InvalidInput,
                &format!(
                    "cannot run {} to build the SDK docs: {e} (install Rust with rustup)",
                    std::path::Path::new(&cargo).display()
                ),
            );
        }
    };
    if !status.success() {
        return error(
            g,
            Exit::Internal,
            &format!(
                "cargo doc of {} failed ({status}); its output is above",
                sdk.display()
            ),
        );
    }
    let index = target.join("doc/ferry_sdk/index.html");
    if g.json {
        outln!("{}", serde_json::json!({ "index": index }));
    } else {
        outln!("the SDK's documentation: {}", index.display());
    }
    Exit::Ok
}
