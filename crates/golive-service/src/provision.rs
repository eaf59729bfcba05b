//! The stream and the durable consumer the ledger reads: created when missing, and an existing
//! stream checked against the wanted settings (never silently changed).

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use golive_model::protocol::{EVENTS_SUBJECTS, STREAM_NAME};

use crate::config::StreamSettings;
use crate::error::{ServeError, js_err};

/// One setting `ensure_stream` checks on an existing stream: its name in the mismatch message,
/// and how to read and show it from a stream's config.
type StreamCheck = (&'static str, fn(&stream::Config) -> String);

/// The settings an existing stream must share with the wanted one, in the order mismatches are
/// reported. Adding a setting is one row.
const STREAM_CHECKS: &[StreamCheck] = &[
    ("subjects", |c| format!("{:?}", c.subjects)),
    ("storage", |c| format!("{:?}", c.storage)),
    ("retention", |c| format!("{:?}", c.retention)),
    ("discard", |c| format!("{:?}", c.discard)),
    ("replicas", |c| c.num_replicas.to_string()),
    ("max_bytes", |c| c.max_bytes.to_string()),
    ("max_msgs", |c| c.max_messages.to_string()),
    ("max_age", |c| format!("{:?}", c.max_age)),
    ("duplicate_window", |c| format!("{:?}", c.duplicate_window)),
    ("max_msg_size", |c| c.max_message_size.to_string()),
];

/// Each checked setting in which `have` differs from `want`, as `NAME is HAVE, expected WANT`.
fn stream_mismatches(have: &stream::Config, want: &stream::Config) -> Vec<String> {
    STREAM_CHECKS
        .iter()
        .filter_map(|(name, show)| {
            let (a, b) = (show(have), show(want));
            (a != b).then(|| format!("{name} is {a}, expected {b}"))
        })
        .collect()
}

/// Creates the stream, or checks that the existing one has the expected settings.
pub async fn ensure_stream(
    js: &jetstream::Context,
    settings: &StreamSettings,
) -> Result<stream::Stream, ServeError> {
    let want = settings.to_config();
    match js.get_stream(STREAM_NAME).await {
        Ok(mut s) => {
            let have = s.info().await.map_err(js_err)?.config.clone();
            let diffs = stream_mismatches(&have, &want);
            if !diffs.is_empty() {
                return Err(ServeError::StreamMismatch(diffs.join("; ")));
            }
            Ok(s)
        }
        Err(e)
            if matches!(e.kind(), jetstream::context::GetStreamErrorKind::JetStream(ref je)
                if je.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND) =>
        {
            tracing::info!(stream = STREAM_NAME, "creating the JetStream stream");
            js.create_stream(want).await.map_err(js_err)
        }
        Err(e) => Err(js_err(e)),
    }
}

/// The durable pull consumer of this ledger (created if missing).
pub async fn ensure_consumer(
    stream: &stream::Stream,
    name: &str,
) -> Result<consumer::PullConsumer, ServeError> {
    stream
        .get_or_create_consumer(
            name,
            consumer::pull::Config {
                durable_name: Some(name.to_owned()),
                description: Some("Go-Live Ledger appender".to_owned()),
                ack_policy: consumer::AckPolicy::All,
                deliver_policy: consumer::DeliverPolicy::All,
                filter_subject: EVENTS_SUBJECTS.to_owned(),
                ack_wait: Duration::from_secs(60),
                max_ack_pending: 100_000,
                ..Default::default()
            },
        )
        .await
        .map_err(js_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_with_the_wanted_settings_has_no_mismatch() {
        // Proves: the wanted config checked against itself reports nothing.
        let want = StreamSettings::default().to_config();
        assert_eq!(stream_mismatches(&want, &want), Vec::<String>::new());
    }

    #[test]
    fn each_differing_setting_is_named_with_both_values_in_table_order() {
        // Proves: the mismatch messages keep their wording (operators and tests read them).
        let want = StreamSettings::default().to_config();
        let have = stream::Config {
            max_age: Duration::from_secs(7 * 86_400),
            num_replicas: 3,
            max_message_size: 1024,
            ..want.clone()
        };
        assert_eq!(
            stream_mismatches(&have, &want),
            [
                "replicas is 3, expected 1",
                "max_age is 604800s, expected 2592000s",
                format!(
                    "max_msg_size is 1024, expected {}",
                    golive_model::MESSAGE_BYTES_MAX
                )
                .as_str(),
            ]
        );
    }

    #[test]
    fn every_setting_of_the_wanted_config_is_checked() {
        // Proves: changing any one wanted setting (subjects to max_msg_size) is reported.
        let want = StreamSettings::default().to_config();
        let changed: Vec<stream::Config> = vec![
            stream::Config {
                subjects: vec!["other.>".to_owned()],
                ..want.clone()
            },
            stream::Config {
                storage: stream::StorageType::Memory,
                ..want.clone()
            },
            stream::Config {
                retention: stream::RetentionPolicy::WorkQueue,
                ..want.clone()
            },
            stream::Config {
                discard: stream::DiscardPolicy::Old,
                ..want.clone()
            },
            stream::Config {
                num_replicas: 5,
                ..want.clone()
            },
            stream::Config {
                max_bytes: 1,
                ..want.clone()
            },
            stream::Config {
                max_messages: 1,
                ..want.clone()
            },
            stream::Config {
                max_age: Duration::from_secs(1),
                ..want.clone()
            },
            stream::Config {
                duplicate_window: Duration::from_secs(1),
                ..want.clone()
            },
            stream::Config {
                max_message_size: 1,
                ..want.clone()
            },
        ];
        assert_eq!(changed.len(), STREAM_CHECKS.len());
        for (have, (name, _)) in changed.iter().zip(STREAM_CHECKS) {
            let found = stream_mismatches(have, &want);
            assert_eq!(found.len(), 1, "{name}: {found:?}");
            assert!(found[0].starts_with(name), "{found:?}");
        }
    }
}
