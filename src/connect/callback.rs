//! The browser step of the sign-in: a listener on a free loopback port receives the
//! authorization server's redirect (`/callback?code=…&state=…`), and the user's browser is
//! opened on the authorization address (`$PIPEWRIGHT_BROWSER`, a command the address is
//! appended to, else the system's opener). The address is also printed on stderr, for a
//! machine with no browser; nothing is ever written to stdout, the JSON-RPC channel.

use std::{collections::HashMap, process::Stdio, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Html,
    routing::get,
    Router,
};
use tokio::sync::{oneshot, Mutex};

/// How long the user has to sign in and consent.
pub const SIGN_IN_DEADLINE: Duration = Duration::from_secs(300);

pub struct Callback {
    pub redirect_uri: String,
    got: oneshot::Receiver<HashMap<String, String>>,
    stop: Option<oneshot::Sender<()>>,
}

/// The redirect's query parameters.
type Answer = HashMap<String, String>;

/// The sign-in's `state` and where its answer goes.
#[derive(Clone)]
struct Slot {
    state: Arc<str>,
    tx: Arc<Mutex<Option<oneshot::Sender<Answer>>>>,
}

async fn callback(
    State(slot): State<Slot>,
    Query(q): Query<HashMap<String, String>>,
) -> (StatusCode, Html<&'static str>) {
    // Anything on this machine can reach the port: only the answer to this sign-in
    // (its `state`) counts, and the rest does not end the wait.
    if q.get("state").map(String::as_str) != Some(&*slot.state) {
        return (
            StatusCode::BAD_REQUEST,
            Html("<!doctype html><title>Pipewright</title><p>This is not the sign-in Pipewright is waiting for.</p>"),
        );
    }
    let refused = q.contains_key("error");
    if let Some(tx) = slot.tx.lock().await.take() {
        let _ = tx.send(q);
    }
    (
        StatusCode::OK,
        Html(if refused {
            "<!doctype html><title>Pipewright</title><p>The sign-in was not completed. You can close this tab; your assistant shows why.</p>"
        } else {
            "<!doctype html><title>Pipewright</title><p>Signed in to Pipewright. You can close this tab and go back to your assistant.</p>"
        }),
    )
}

impl Callback {
    /// Listens on 127.0.0.1 at a free port.
    pub async fn listen(state: &str) -> anyhow::Result<Callback> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("cannot listen on a loopback port for the sign-in redirect")?;
        let port = listener.local_addr()?.port();
        let (tx, got) = oneshot::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let slot = Slot {
            state: state.into(),
            tx: Arc::new(Mutex::new(Some(tx))),
        };
        let app = Router::new()
            .route("/callback", get(callback))
            .with_state(slot);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Callback {
            redirect_uri: format!("http://127.0.0.1:{port}/callback"),
            got,
            stop: Some(stop),
        })
    }

    /// The redirect's query parameters, once the browser comes back.
    pub async fn wait(mut self) -> anyhow::Result<HashMap<String, String>> {
        let got = tokio::time::timeout(SIGN_IN_DEADLINE, &mut self.got).await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match got {
            Ok(Ok(q)) => Ok(q),
            _ => anyhow::bail!(
                "the sign-in was not completed within {} minutes; ask again to start over",
                SIGN_IN_DEADLINE.as_secs() / 60
            ),
        }
    }
}

/// Opens `url` in the user's browser (best effort: the address is printed either way).
pub fn open_browser(url: &str) {
    eprintln!("pipewright connect: sign in to continue; opening {url}");
    let custom = std::env::var("PIPEWRIGHT_BROWSER")
        .ok()
        .filter(|c| !c.trim().is_empty());
    let mut words: Vec<String> = match &custom {
        Some(c) => c.split_whitespace().map(str::to_string).collect(),
        None if cfg!(target_os = "macos") => vec!["open".into()],
        None if cfg!(windows) => vec!["rundll32".into(), "url.dll,FileProtocolHandler".into()],
        None => vec!["xdg-open".into()],
    };
    words.push(url.to_string());
    let spawned = std::process::Command::new(&words[0])
        .args(&words[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match spawned {
        // Reaped in the background, so no zombie is left.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(_) => eprintln!(
            "pipewright connect: could not open a browser ({}); open the address above yourself",
            words[0]
        ),
    }
}
