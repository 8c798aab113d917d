//! The consent step of Google's OAuth flow for installed apps, run by Lifeboat itself because
//! yup-oauth2 12 sends neither PKCE nor `state`: a PKCE (S256) verifier and a random state, the
//! person's browser opened at the consent page, a one-shot listener on 127.0.0.1 at a free port
//! for the answer, then the code exchanged for tokens.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use url::Url;

use crate::drive::endpoints::{ClientCredentials, Endpoints, SCOPE};
use crate::remote::RemoteError;

/// How long `connect` waits for the person to answer in the browser.
fn answer_timeout() -> Duration {
    let seconds = std::env::var("LIFEBOAT_CONSENT_TIMEOUT_SECS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(300);
    Duration::from_secs(seconds)
}

fn random_token(bytes: usize) -> String {
    let random: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(random)
}

/// What the consent step yields: the code, and what the exchange must repeat.
pub struct Answer {
    pub code: String,
    pub verifier: String,
    pub redirect_uri: String,
}

/// Runs consent in the browser and returns the authorization code. `tell` shows the consent URL
/// to the person, in case no browser opens.
pub fn obtain_code(
    endpoints: &Endpoints,
    client: &ClientCredentials,
    tell: &dyn Fn(&str),
) -> Result<Answer, RemoteError> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|error| {
        RemoteError::Consent(format!(
            "cannot listen on 127.0.0.1 for Google's answer: {error}"
        ))
    })?;
    let port = listener
        .local_addr()
        .map_err(|error| RemoteError::Consent(error.to_string()))?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}/");
    // 64 random bytes give an 86-character verifier, within RFC 7636's 43 to 128.
    let verifier = random_token(64);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let state = random_token(32);
    let mut url = endpoints.auth.clone();
    url.query_pairs_mut()
        .append_pair("client_id", &client.id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", SCOPE)
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        // A refresh token is only handed out for offline access, and only on a fresh consent.
        .append_pair("access_type", "offline")
        .append_pair("prompt", "consent");
    tell(url.as_str());
    // `open` waits for the launcher to exit, and a launcher may wait for the page it fetches: the
    // listener must already be answering, so the browser runs on its own thread.
    let address = url.to_string();
    std::thread::spawn(move || {
        if let Err(error) = open::that(&address) {
            tracing::warn!("could not open a browser: {error}");
        }
    });
    let code = wait_for_answer(&listener, &state)?;
    Ok(Answer {
        code,
        verifier,
        redirect_uri,
    })
}

fn wait_for_answer(listener: &TcpListener, state: &str) -> Result<String, RemoteError> {
    let deadline = Instant::now() + answer_timeout();
    listener
        .set_nonblocking(true)
        .map_err(|error| RemoteError::Consent(error.to_string()))?;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Some(outcome) = answer_of(stream, state) {
                    return outcome;
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    return Err(RemoteError::Consent(
                        "no answer came from the browser in time; run `lifeboat drive connect` again and allow access".into(),
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(error) => return Err(RemoteError::Consent(error.to_string())),
        }
    }
}

/// Reads one request on the loopback listener. None for requests that are not the answer (a
/// browser also asks for /favicon.ico).
fn answer_of(stream: TcpStream, state: &str) -> Option<Result<String, RemoteError>> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    // Drain the headers so the browser sees a clean answer.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|read| read > 2) {
        line.clear();
    }
    let target = request_line.split_whitespace().nth(1)?;
    let url = Url::parse(&format!("http://127.0.0.1{target}")).ok()?;
    let value = |name: &str| {
        url.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    let mut stream = reader.into_inner();
    let (code, error, returned_state) = (value("code"), value("error"), value("state"));
    if code.is_none() && error.is_none() {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return None;
    }
    let outcome = if returned_state.as_deref() != Some(state) {
        Err(RemoteError::Consent(
            "the answer from the browser did not carry the state Lifeboat sent, so it was refused; run `lifeboat drive connect` again".into(),
        ))
    } else if let Some(error) = error {
        Err(RemoteError::Consent(format!(
            "Google did not grant access ({error}); run `lifeboat drive connect` again and allow access"
        )))
    } else {
        code.ok_or_else(|| RemoteError::Consent("no code in Google's answer".into()))
    };
    let page = if outcome.is_ok() {
        "Lifeboat is connected to Google Drive. You can close this tab."
    } else {
        "Lifeboat could not connect to Google Drive. See the terminal."
    };
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
        page.len()
    );
    Some(outcome)
}
