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
    /// The blob would need more blocks than a block blob may have.
    TooManyBlocks,
    Other(String),
}

/// How a block blob is written: the size of each block (BACKUP's MAXTRANSFERSIZE) and how many
/// blocks a blob may have (Azure allows 50,000: "Scalability and performance targets for Blob
/// storage"; the emulator lets tests scale it down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocks {
    pub size: usize,
    pub limit: u32,
}

impl Default for Blocks {
    fn default() -> Self {
        Blocks {
            size: 4 << 20,
            limit: 50_000,
        }
    }
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

/// Like [`locate`], but a URL naming only a container is its root folder (`blob` empty): the
/// folder a DMS blob source reads (`azureBlob.blobContainerName` names no folder).
pub fn locate_folder(url: &str) -> Result<BlobLocation, String> {
    locate(url).or_else(|e| {
        let root = locate(&format!("{}/_", url.trim_end_matches('/'))).map_err(|_| e)?;
        Ok(BlobLocation {
            container_url: root.container_url,
            blob: String::new(),
        })
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

/// Blocks staged at once: 8 × 4 MiB keeps the memory in flight at 32 MiB.
const IN_FLIGHT: usize = 8;

/// Writes a block blob (the layout SQL Server uses with a SAS credential).
pub async fn upload(
    loc: &BlobLocation,
    sas: &str,
    bytes: Vec<u8>,
    overwrite: bool,
) -> Result<(), BlobError> {
    upload_parts(
        loc,
        sas,
        vec![azure_core::Bytes::from(bytes)],
        overwrite,
        Blocks::default(),
    )
    .await
}

/// Writes a block blob made of `parts` laid end to end (a backup stripe's prefix, payload and
/// checksum): one that fits a block in one request, larger ones as staged blocks of
/// `blocks.size` with fixed-width ids, committed in one block list, cut across the parts
/// without copying the payload. A blob that needs more than `blocks.limit` blocks fails when
/// the limit is reached, its blocks staged but never committed, as a backup that runs out of
/// blocks leaves it.
pub async fn upload_parts(
    loc: &BlobLocation,
    sas: &str,
    parts: Vec<azure_core::Bytes>,
    overwrite: bool,
    blocks: Blocks,
) -> Result<(), BlobError> {
    use futures_util::StreamExt as _;
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let size = blocks.size.max(1);
    let blob = client(loc, sas)?;
    if total <= size {
        let options = if overwrite {
            BlobClientUploadOptions::default()
        } else {
            BlobClientUploadOptions::default().if_not_exists()
        };
        blob.upload(RequestContent::from(stitch(parts).to_vec()), Some(options))
            .await
            .map_err(classify)?;
        return Ok(());
    }
    if !overwrite && blob.exists().await.map_err(classify)? {
        return Err(BlobError::Exists);
    }
    let limit = blocks.limit as usize;
    let mut blocks: Vec<azure_core::Bytes> = Vec::new();
    let mut pending: Vec<azure_core::Bytes> = Vec::new();
    let mut pending_len = 0;
    for p in parts {
        let mut at = 0;
        while at < p.len() {
            let take = (size - pending_len).min(p.len() - at);
            pending.push(p.slice(at..at + take));
            pending_len += take;
            at += take;
            if pending_len == size {
                blocks.push(stitch(std::mem::take(&mut pending)));
                pending_len = 0;
            }
        }
    }
    if pending_len > 0 {
        blocks.push(stitch(pending));
    }
    let too_many = blocks.len() > limit;
    blocks.truncate(limit);
    let block_blob = std::sync::Arc::new(blob.block_blob_client());
    let ids: Vec<Vec<u8>> = (0..blocks.len())
        .map(|i| format!("{i:08}").into_bytes())
        .collect();
    // Each block's future owns what it uses, so the upload is `Send` (it runs on the blob
    // I/O runtime, see `block_on`).
    let results: Vec<Result<(), BlobError>> =
        futures_util::stream::iter(ids.clone().into_iter().zip(blocks))
            .map(|(id, block)| {
                let block_blob = block_blob.clone();
                async move {
                    let len = block.len() as u64;
                    block_blob
                        .stage_block(&id, len, block.into(), None)
                        .await
                        .map(|_| ())
                        .map_err(classify)
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    if too_many {
        return Err(BlobError::TooManyBlocks);
    }
    let list = azure_storage_blob::models::BlockLookupList {
        latest: Some(ids),
        ..Default::default()
    };
    block_blob
        .commit_block_list(list.try_into().map_err(classify)?, None)
        .await
        .map_err(classify)?;
    Ok(())
}

/// Joins pieces into one buffer; a single piece is returned as is, without a copy.
fn stitch(mut pieces: Vec<azure_core::Bytes>) -> azure_core::Bytes {
    if pieces.len() == 1 {
        return pieces.remove(0);
    }
    let mut all = Vec::with_capacity(pieces.iter().map(|p| p.len()).sum());
    for p in &pieces {
        all.extend_from_slice(p);
    }
    azure_core::Bytes::from(all)
}

/// Every blob under `loc.blob` + "/" (a folder), with its size: names relative to the
/// container. A folder of backups is small; the listing is paged all the same.
pub async fn list(loc: &BlobLocation, sas: &str) -> Result<Vec<(String, u64)>, BlobError> {
    use futures_util::StreamExt as _;
    let mut url = Url::parse(&loc.container_url).map_err(|e| BlobError::Other(e.to_string()))?;
    url.set_query(Some(sas.trim_start_matches('?')));
    let container =
        BlobContainerClient::new(url, None, None).map_err(|e| BlobError::Other(e.to_string()))?;
    let options = azure_storage_blob::models::BlobContainerClientListBlobsOptions {
        // An empty `blob` is the container's root (a DMS blob source: `blobContainerName`).
        prefix: (!loc.blob.is_empty()).then(|| format!("{}/", loc.blob.trim_end_matches('/'))),
        ..Default::default()
    };
    let mut pages = container
        .list_blobs(Some(options))
        .map_err(classify)?
        .into_pages();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let body = page.map_err(classify)?.into_model().map_err(classify)?;
        for b in body.blob_items {
            if let Some(name) = b.name {
                let size = b.properties.and_then(|p| p.content_length).unwrap_or(0);
                out.push((name, size));
            }
        }
    }
    Ok(out)
}

/// The size of a blob, in bytes.
pub async fn size(loc: &BlobLocation, sas: &str) -> Result<u64, BlobError> {
    use azure_storage_blob::models::BlobClientGetPropertiesResultHeaders as _;
    let blob = client(loc, sas)?;
    let props = blob.get_properties(None).await.map_err(classify)?;
    props
        .content_length()
        .map_err(classify)?
        .ok_or_else(|| BlobError::Other("the blob's size is not known".into()))
}

/// Reads `range` of a blob, one request: what a restore reads of a backup as it goes.
pub async fn read_range(
    loc: &BlobLocation,
    sas: &str,
    range: std::ops::Range<u64>,
) -> Result<Vec<u8>, BlobError> {
    if range.is_empty() {
        return Ok(Vec::new());
    }
    let blob = client(loc, sas)?;
    let options = azure_storage_blob::models::BlobClientDownloadOptions {
        range: Some(range.into()),
        ..Default::default()
    };
    let result = blob.download(Some(options)).await.map_err(classify)?;
    let bytes = result.body.collect().await.map_err(classify)?;
    Ok(bytes.to_vec())
}

/// Reads a whole blob.
pub async fn download(loc: &BlobLocation, sas: &str) -> Result<Vec<u8>, BlobError> {
    let blob = client(loc, sas)?;
    let result = blob.download(None).await.map_err(classify)?;
    let bytes = result.body.collect().await.map_err(classify)?;
    Ok(bytes.to_vec())
}

/// Runs blob I/O from synchronous statement code, which holds the instance lock meanwhile.
///
/// The I/O runs on a small runtime of its own: on the server's runtime it would need a worker
/// to drive it, and every worker may be waiting for the very lock this caller holds (a second
/// session, a login), which stalled concurrent BACKUP TO URL until the clients timed out.
pub fn block_on<F>(f: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    static IO: std::sync::OnceLock<Option<tokio::runtime::Runtime>> = std::sync::OnceLock::new();
    let runtime = IO.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("emulator-blob-io")
            .enable_all()
            .build()
            .ok()
    });
    let Some(runtime) = runtime else {
        // No thread could be started for it: fall back to the caller's runtime.
        return tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f));
    };
    let (tx, rx) = std::sync::mpsc::channel();
    runtime.spawn(async move {
        let _ = tx.send(f.await);
    });
    let wait = move || rx.recv();
    let result = if tokio::runtime::Handle::try_current().is_ok() {
        tokio::task::block_in_place(wait)
    } else {
        wait()
    };
    // The task sends before it ends; a closed channel means it panicked.
    result.unwrap_or_else(|_| panic!("blob I/O task ended without a result"))
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
