//! [`StaticFiles`]: serve a directory, one handler component per request.
//!
//! The request path is percent-decoded and walked segment by segment under
//! the root; anything that could step outside is refused with 403 before the
//! file system is asked: a `..` segment (plain or encoded as `%2e%2e`), an
//! encoded `/` or `\` (`%2f`, `%5c`), a backslash, a NUL. The path found is
//! then canonicalized (resolving symlinks) and must still lie under the
//! canonical root, so a symlink pointing out of the directory is refused too
//! (403). Missing files (and directories without `index.html`) are 404; `/`
//! and other directories serve their `index.html`.
//!
//! Files up to one chunk ([`StaticFiles::chunk_size`], 64 KiB by default) go
//! out as one response; larger ones are streamed: a head with their
//! `Content-Length`, then one body part per chunk read, so a file is never
//! held in memory whole and a slow client holds back the reading (the
//! server's per-handler queue is bounded). Reads are ordinary blocking file
//! reads of one chunk at a time, done on the handler component.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axon::{Component, Prefab, Signal};
use bytes::Bytes;

use super::request::Request;
use super::response::{Response, ResponsePart};
use super::server::HttpServer;

/// The served directory could not be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot serve {path:?}: {source}; give an existing, readable directory")]
pub struct StaticRootError {
    /// The directory asked for.
    pub path: PathBuf,
    /// Why it cannot be used.
    #[source]
    pub source: io::Error,
}

/// Serves the files under one directory, one handler component per request.
///
/// `/` and other directories serve their `index.html`; the content type comes
/// from the extension ([`content_type`]); missing files are 404. Anything
/// that could leave the directory is refused with 403: a `..` segment (plain
/// or `%2e%2e`), an encoded `/` or `\` (`%2f`, `%5c`), a backslash, a NUL,
/// or a path whose canonical form (symlinks resolved) is outside the
/// canonical root. Files larger than one chunk ([`chunk_size`](Self::chunk_size),
/// 64 KiB by default) are streamed a chunk at a time with their
/// `Content-Length`, never read whole.
///
/// ```
/// use kamaelia::protocol::http::StaticFiles;
/// let dir = std::env::temp_dir();
/// let files = StaticFiles::new(&dir)?;
/// assert_eq!(files.resolve("/../etc/passwd"), Err(403));
/// assert_eq!(files.resolve("/%2e%2e/etc/passwd"), Err(403));
/// let server = files.server(); // an HttpServer answering from the directory
/// # drop(server);
/// # Ok::<(), kamaelia::protocol::http::StaticRootError>(())
/// ```
#[derive(Debug, Clone)]
pub struct StaticFiles {
    root: Arc<PathBuf>,
    chunk: usize,
}

impl StaticFiles {
    /// Serve `root` (it must be a directory).
    pub fn new(root: impl AsRef<Path>) -> Result<Self, StaticRootError> {
        let path = root.as_ref().to_path_buf();
        let canon = path.canonicalize().map_err(|source| StaticRootError {
            path: path.clone(),
            source,
        })?;
        if !canon.is_dir() {
            return Err(StaticRootError {
                path,
                source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        Ok(StaticFiles {
            root: Arc::new(canon),
            chunk: 64 * 1024,
        })
    }

    /// Read and send files in chunks of this many bytes (at least 1 KiB).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk = bytes.max(1024);
        self
    }

    /// The canonical directory served.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file a request path (as sent, percent-encoded) names, or the status
    /// to answer: 400 for bad percent-encoding, 403 for anything that would
    /// leave the directory, 404 for nothing there.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, u16> {
        let lower = path.to_ascii_lowercase();
        if path.contains('\\') || lower.contains("%2f") || lower.contains("%5c") {
            return Err(403);
        }
        let decoded = percent_decode(path.as_bytes()).ok_or(400u16)?;
        if decoded.contains(&0) || decoded.contains(&b'\\') {
            return Err(403);
        }
        let decoded = String::from_utf8(decoded).map_err(|_| 404u16)?;
        let mut p = PathBuf::from(&**self.root);
        for seg in decoded.split('/') {
            match seg {
                "" | "." => {}
                ".." => return Err(403),
                s => p.push(s),
            }
        }
        let not_found = |e: io::Error| match e.kind() {
            io::ErrorKind::PermissionDenied => 403u16,
            _ => 404u16,
        };
        if std::fs::metadata(&p).map_err(not_found)?.is_dir() {
            p.push("index.html");
        }
        let canon = p.canonicalize().map_err(not_found)?;
        if !canon.starts_with(&*self.root) {
            return Err(403);
        }
        if !canon.is_file() {
            return Err(404);
        }
        Ok(canon)
    }

    /// The handler component for one request.
    pub fn handler(&self, req: Request) -> Prefab {
        let me = self.clone();
        Prefab::new(
            Component::new("static-file").inbox_and_outbox::<(), ResponsePart>(),
            move |mut cx| async move {
                let mut out = cx.outbox::<ResponsePart>("outbox")?;
                let mut control = cx.inbox::<Signal>("control")?;
                for part in me.respond(&req) {
                    let part = match part {
                        Ok(p) => p,
                        // Mid-body: the server closes the connection.
                        Err(e) => return Err(e.into()),
                    };
                    if matches!(control.try_recv(), Ok(s) if s.is_shutdown()) {
                        break;
                    }
                    if out.send(part).await.is_err() {
                        break; // the connection has gone
                    }
                }
                Ok(())
            },
        )
    }

    /// The response to `req`, as parts: one whole response, or a head and one
    /// body part per chunk read (reading lazily, as the parts are taken).
    fn respond(&self, req: &Request) -> Box<dyn Iterator<Item = io::Result<ResponsePart>> + Send> {
        let one = |r: Response| -> Box<dyn Iterator<Item = io::Result<ResponsePart>> + Send> {
            Box::new(std::iter::once(Ok(ResponsePart::Whole(r))))
        };
        if req.method() != "GET" && req.method() != "HEAD" {
            return one(Response::error(405).with_header("Allow", "GET, HEAD"));
        }
        let path = match self.resolve(req.path()) {
            Ok(p) => p,
            Err(status) => return one(Response::error(status)),
        };
        let (mut file, len) = match File::open(&path).and_then(|f| Ok((f.metadata()?.len(), f))) {
            Ok((len, f)) => (f, len),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return one(Response::error(403)),
            Err(_) => return one(Response::error(404)),
        };
        let head = Response::new(200).with_content_type(content_type(&path));
        if req.is_head() {
            let r = head.with_header("Content-Length", len.to_string());
            return Box::new([Ok(ResponsePart::Head(r)), Ok(ResponsePart::End)].into_iter());
        }
        if len <= self.chunk as u64 {
            let mut body = Vec::with_capacity(len as usize);
            return match file.read_to_end(&mut body) {
                Ok(_) => one(head.with_body(body)),
                Err(_) => one(Response::error(500)),
            };
        }
        let chunk = self.chunk;
        let head = head.with_header("Content-Length", len.to_string());
        let mut done = false;
        let body = std::iter::from_fn(move || {
            if done {
                return None;
            }
            let mut buf = vec![0u8; chunk];
            match file.read(&mut buf) {
                Ok(0) => {
                    done = true;
                    Some(Ok(ResponsePart::End))
                }
                Ok(n) => {
                    buf.truncate(n);
                    Some(Ok(ResponsePart::Body(Bytes::from(buf))))
                }
                Err(e) => {
                    done = true;
                    Some(Err(e))
                }
            }
        });
        Box::new(std::iter::once(Ok(ResponsePart::Head(head))).chain(body))
    }

    /// A factory of handler components for [`HttpServer::from_components`].
    pub fn into_factory(self) -> impl Fn(Request) -> Prefab + Send + Sync + 'static {
        move |req| self.handler(req)
    }

    /// An [`HttpServer`] answering every request from this directory.
    pub fn server(self) -> HttpServer {
        HttpServer::from_components(self.into_factory())
    }
}

/// Decode `%XX` escapes; `None` if one is malformed.
fn percent_decode(s: &[u8]) -> Option<Vec<u8>> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hi = hex(*s.get(i + 1)?)?;
            let lo = hex(*s.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The content type for a file, by its extension.
///
/// ```
/// use kamaelia::protocol::http::content_type;
/// assert_eq!(content_type("a/index.HTML".as_ref()), "text/html; charset=utf-8");
/// assert_eq!(content_type("x.unknown".as_ref()), "application/octet-stream");
/// ```
pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" | "text" | "md" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "ts" => "video/mp2t",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "wav" => "audio/wav",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}
