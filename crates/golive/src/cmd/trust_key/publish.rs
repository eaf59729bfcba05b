//! `golive trust-key publish TRUST --admin-key FILE (--add KEY | --rotate-to KEY --replaces KEY
//! --revoked-at T | --revoke KEY --revoked-at T)`: one `trust_key` event, signed with the admin
//! key, published to the trust's `trust_key` subject; returns once the stream has stored it.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{SecondsFormat, Utc};
use golive_model::Envelope;
use golive_verify::{SIGNATURE_HEADER, sign_event};
use serde_json::json;

use super::super::trust_secret::check_trust;
use crate::cli::TrustKeyPublishArgs;
use crate::terminal;

/// How long the stream has to acknowledge the event.
const ACK_TIMEOUT_MS: u64 = 10_000;

pub fn run(args: TrustKeyPublishArgs) -> Result<ExitCode> {
    check_trust(&args.trust)?;
    let signer = super::read_admin(&args.admin_key)?;
    let envelope = change_event(&args)?;
    let canonical = envelope.canonical_bytes();
    let header = sign_event(&signer, &canonical).to_text();
    if args.dry_run {
        terminal::out(&format!(
            "{}\n{SIGNATURE_HEADER}: {header}\n",
            String::from_utf8_lossy(&canonical)
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let rt = super::super::runtime()?;
    rt.block_on(publish(&args, &envelope, canonical, header))?;
    terminal::err(&format!(
        "golive trust-key: published {} ({} of {}), signed by admin key {}; the ledger applies \
         it from that record on, or dead-letters it with the reason (`golive dead-letters`)\n",
        envelope.event_id,
        action(&args),
        args.trust,
        signer.verifier()
    ));
    terminal::out(&format!("{}\n", envelope.event_id))?;
    Ok(ExitCode::SUCCESS)
}

fn action(args: &TrustKeyPublishArgs) -> &'static str {
    match (&args.add, &args.rotate_to) {
        (Some(_), _) => "add",
        (None, Some(_)) => "rotate",
        (None, None) => "revoke",
    }
}

/// The `trust_key` event of the arguments, decoded and validated as the ledger will.
fn change_event(args: &TrustKeyPublishArgs) -> Result<Envelope> {
    let key = args
        .add
        .as_ref()
        .or(args.rotate_to.as_ref())
        .or(args.revoke.as_ref())
        .ok_or_else(|| anyhow!("one of --add, --rotate-to, --revoke is needed"))?;
    let mut data = json!({ "action": action(args), "key": key });
    if let Some(old) = &args.replaces {
        data["replaces"] = json!(old);
    }
    if let Some(at) = &args.revoked_at {
        data["revoked_at"] = json!(at);
    }
    if let Some(policy) = &args.signatures {
        data["signatures"] = json!(policy);
    }
    let now = Utc::now();
    let at = now.to_rfc3339_opts(SecondsFormat::Millis, true);
    let event = json!({
        "event_id": uuid::Uuid::new_v4().to_string(),
        "trust": args.trust,
        "collector": "golive-admin",
        "collector_seq": now.timestamp_millis(),
        "occurred_at": at,
        "recorded_at": at,
        "schema": 2,
        "kind": "trust_key",
        "data": data,
        "sources": [source(&args.trust, &args.reference)],
        "status": "reported",
    });
    golive_model::decode(event.to_string().as_bytes()).map_err(|e| {
        anyhow!(
            "the trust_key event is not valid: {}: {}",
            e.field,
            e.reason
        )
    })
}

/// The event's source: the system, or for a simulated trust (a fictional code, whose events
/// must all be synthetic) a synthetic source that says so.
fn source(trust: &str, reference: &str) -> serde_json::Value {
    let fictional = golive_model::OdsCode::parse(trust).is_some_and(|t| t.is_fictional());
    if fictional {
        json!({ "type": "synthetic", "ref": format!("SYNTHETIC: a key change of a simulated trust ({reference})") })
    } else {
        json!({ "type": "system", "ref": reference })
    }
}

async fn publish(
    args: &TrustKeyPublishArgs,
    envelope: &Envelope,
    canonical: Vec<u8>,
    header: String,
) -> Result<()> {
    let nkey = super::super::nkey(&args.nats)?;
    let conn = golive_service::connect(
        &args.nats.url,
        args.nats.creds.as_deref(),
        nkey.as_deref(),
        &args.nats.tls(),
        "golive-trust-key",
        Arc::new(golive_ledger::Readiness::default()),
    )
    .await
    .with_context(|| format!("cannot connect to NATS at {}", args.nats.url))?;
    let js = async_nats::jetstream::new(conn.client.clone());
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(SIGNATURE_HEADER, header.as_str());
    let acked = async {
        js.publish_with_headers(envelope.subject(), headers, canonical.into())
            .await?
            .await
    };
    match tokio::time::timeout(Duration::from_millis(ACK_TIMEOUT_MS), acked).await {
        Ok(Ok(_ack)) => {}
        Ok(Err(e)) => bail!("the stream did not store the event: {e}"),
        Err(_) => bail!(
            "no acknowledgement from the stream within {} s: the event may or may not be stored; \
             publishing it again is safe (adding a key twice changes nothing)",
            ACK_TIMEOUT_MS / 1000
        ),
    }
    conn.client.flush().await.ok();
    Ok(())
}
