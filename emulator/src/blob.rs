//! Blob I/O for BACKUP TO URL and RESTORE FROM URL, through Microsoft's Azure Blob SDK with the
//! SAS from the matching credential — so a wrong or under-privileged SAS fails here exactly as
//! it would against Azure (Azurite checks SAS signatures and permissions).

use azure_core::http::{RequestContent, StatusCode, Url};
use azure_storage_blob::BlobContainerClient;
use azure_storage_blob::models::BlobClientUploadOptions;

/// A blob URL split into its container URL and blob name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobLocation {
    pub container_url: String,
    pub blob: String,
}

/// Why a blob operation failed, in the terms SQL Server's errors use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobError {
    /// 403: the SAS is wrong, expired or lacks a permission (SQL Server: OS error 5).
    AccessDenied,
    /// 404: no such blob or container (OS error 2).
    NotFound,
    /// 409/412: the blob exists and the backup did not say FORMAT/INIT.
    Exists,
    Other(String),
}

/// Splits `https://acct.blob.core.windows.net/container/path/file.bak` (host-style) or
/// `http://127.0.0.1:10000/devstoreaccount1/container/file.bak` (path-style, as Azurite and
/// other emulators use when the host is an address or `localhost`).
pub fn locate(url: &str) -> Result<BlobLocation, String> {
    let u = Url::parse(url).map_err(|e| format!("'{url}' is not a valid URL: {e}"))?;
    let host = u.host_str().unwrap_or_default();
    let path_style = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok();
    let segments: Vec<&str> = u.path().trim_start_matches('/').split('/').collect();
    let skip = if path_style { 2 } else { 1 };
    if segments.len() <= skip || segments.iter().any(|s| s.is_empty()) {
        return Err(format!("'{url}' does not name a container and a blob"));
    }
    let base = format!(
        "{}://{}{}",
        u.scheme(),
        u.host_str().unwrap_or_default(),
        u.port().map(|p| format!(":{p}")).unwrap_or_default()
    );
    Ok(BlobLocation {
        container_url: format!("{base}/{}", segments[..skip].join("/")),
        blob: segments[skip..].join("/"),
    })
}

fn client(loc: &BlobLocation, sas: &str) -> Result<azure_storage_blob::BlobClient, BlobError> {
    let mut url = Url::parse(&loc.container_url).map_err(|e| BlobError::Other(e.to_string()))?;
    url.set_query(Some(sas.trim_start_matches('?')));
    let container =
        BlobContainerClient::new(url, None, None).map_err(|e| BlobError::Other(e.to_string()))?;
    Ok(container.blob_client(&loc.blob))
}

fn classify(e: azure_core::Error) -> BlobError {
    match e.http_status() {
        Some(StatusCode::Forbidden) | Some(StatusCode::Unauthorized) => BlobError::AccessDenied,
        Some(StatusCode::NotFound) => BlobError::NotFound,
        Some(StatusCode::Conflict) | Some(StatusCode::PreconditionFailed) => BlobError::Exists,
        _ => BlobError::Other(e.to_string()),
    }
}

/// Writes a block blob (the layout SQL Server uses with a SAS credential).
pub async fn upload(
    loc: &BlobLocation,
    sas: &str,
    bytes: Vec<u8>,
    overwrite: bool,
) -> Result<(), BlobError> {
    let blob = client(loc, sas)?;
    let options = if overwrite {
        BlobClientUploadOptions::default()
    } else {
        BlobClientUploadOptions::default().if_not_exists()
    };
    blob.upload(RequestContent::from(bytes), Some(options))
        .await
        .map_err(classify)?;
    Ok(())
}

/// Reads a whole blob.
pub async fn download(loc: &BlobLocation, sas: &str) -> Result<Vec<u8>, BlobError> {
    let blob = client(loc, sas)?;
    let result = blob.download(None).await.map_err(classify)?;
    let bytes = result.body.collect().await.map_err(classify)?;
    Ok(bytes.to_vec())
}

/// Runs blob I/O from synchronous statement code. Needs the multi-threaded tokio runtime the
/// server runs on: the worker steps aside while the request is in flight.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_path_style_urls() {
        let l = locate("https://acct.blob.core.windows.net/backups/Sales/full_1.bak").unwrap();
        assert_eq!(
            l,
            BlobLocation {
                container_url: "https://acct.blob.core.windows.net/backups".into(),
                blob: "Sales/full_1.bak".into()
            }
        );
        let l = locate("http://127.0.0.1:10000/devstoreaccount1/backups/x.bak").unwrap();
        assert_eq!(
            l.container_url,
            "http://127.0.0.1:10000/devstoreaccount1/backups"
        );
        assert_eq!(l.blob, "x.bak");
        assert!(locate("https://acct.blob.core.windows.net/onlycontainer").is_err());
        assert!(locate("not a url").is_err());
    }
}
