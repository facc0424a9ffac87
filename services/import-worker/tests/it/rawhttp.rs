//! An upload over a plain TCP connection, for what an ordinary client hides: a body sent in
//! chunks without a Content-Length, and an answer that comes while the body is still going out
//! (the server refusing an upload early).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::Reply;

/// Sends `POST {path}` with `body` (chunked when `chunked`, else with a Content-Length) and
/// reads the answer while still writing.
pub async fn upload(base: &str, path: &str, token: &str, body: Vec<u8>, chunked: bool) -> RawReply {
    let addr = base.strip_prefix("http://").unwrap().to_owned();
    let stream = TcpStream::connect(&addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let framing =
        if chunked { "Transfer-Encoding: chunked".to_owned() } else { format!("Content-Length: {}", body.len()) };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: text/csv\r\n\
         Connection: close\r\n{framing}\r\n\r\n"
    );
    let sending = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        for piece in body.chunks(16 * 1024) {
            if chunked {
                writer.write_all(format!("{:x}\r\n", piece.len()).as_bytes()).await?;
                writer.write_all(piece).await?;
                writer.write_all(b"\r\n").await?;
            } else {
                writer.write_all(piece).await?;
            }
        }
        if chunked {
            writer.write_all(b"0\r\n\r\n").await?;
        }
        writer.flush().await?;
        // Dropping the write half would half-close the connection, which the server takes for a
        // client that went away: keep it open until the answer is read.
        std::future::pending::<()>().await;
        Ok::<_, std::io::Error>(())
    });
    let mut answer = Vec::new();
    // The server may reset the connection after answering (the rest of the body unread): what
    // arrived before the reset is kept.
    let _ = reader.read_to_end(&mut answer).await;
    sending.abort();
    RawReply::parse(&answer)
}

#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl RawReply {
    fn parse(answer: &[u8]) -> Self {
        let text = String::from_utf8_lossy(answer).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no complete answer: {text:?}"));
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{head}"));
        let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            dechunk(body)
        } else {
            body.to_owned()
        };
        Self { status, head: head.to_owned(), body }
    }

    /// As a [`Reply`], to check the error shape the same way.
    pub fn reply(&self) -> Reply {
        let mut headers = reqwest::header::HeaderMap::new();
        for line in self.head.lines().skip(1) {
            if let Some((k, v)) = line.split_once(':') {
                headers.append(
                    reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
                    v.trim().parse().unwrap(),
                );
            }
        }
        Reply {
            status: self.status,
            headers,
            text: self.body.clone(),
            body: serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null),
        }
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Starts `POST {path}` declaring a longer body than `sent`, sends `sent`, and hands back the
/// open connection: dropping it cuts the upload off.
pub async fn upload_cut_short(base: &str, path: &str, token: &str, sent: &[u8]) -> TcpStream {
    let addr = base.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: text/csv\r\n\
         Content-Length: {}\r\n\r\n",
        sent.len() * 10
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(sent).await.unwrap();
    stream.flush().await.unwrap();
    stream
}
