//! Outbound mail: the `mail.send` job handler and the SMTP relay it sends
//! through. A mail is a durable job enqueued in the transaction that made
//! its link (invitation, reset, sign-up), so a relay that is down delays it
//! and a restart does not lose it.
//!
//! Nothing here logs a mail's body: it carries a one-time link.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use storesync_store::jobs::Job;
use storesync_store::Store;

use crate::worker::{JobError, JobHandler};

pub use storesync_store::accounts::MAIL_JOB;

/// The SMTP relay mail goes through.
#[derive(Clone)]
pub struct MailRelay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// The relay's URL may hold a password: it is never shown.
impl std::fmt::Debug for MailRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailRelay")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl MailRelay {
    /// `url` is `smtp://host:port` (plain, or `?tls=required` for
    /// STARTTLS) or `smtps://user:password@host:port` (TLS from the start);
    /// `from` is the sender address.
    pub fn new(url: &str, from: &str) -> Result<MailRelay, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            // The error may quote the URL, password included: say only what is wrong.
            .map_err(|_| "smtp_url is not a valid smtp:// or smtps:// URL".to_owned())?
            .build();
        let from = from
            .parse()
            .map_err(|e| format!("mail_from {from:?} is not a valid address: {e}"))?;
        Ok(MailRelay { transport, from })
    }

    async fn send(&self, mail: &storesync_store::accounts::Mail) -> Result<(), JobError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| JobError::Permanent(format!("cannot send to {:?}: {e}", mail.to)))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .body(mail.body.clone())
            .map_err(|e| JobError::Permanent(format!("cannot build the message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            // A permanent refusal (5xx) will not change by retrying.
            Err(e) if e.is_permanent() => Err(JobError::Permanent(format!(
                "the mail relay refused the message: {e}"
            ))),
            Err(e) => Err(JobError::retry(format!("the mail relay failed: {e}"))),
        }
    }
}

/// Runs `mail.send` jobs.
#[derive(Debug, Clone)]
pub struct MailHandler {
    pub store: Store,
    /// `None` when the installation has no relay configured: mail jobs then
    /// fail at once, visibly, with a message saying what to configure.
    pub relay: Option<MailRelay>,
}

#[async_trait::async_trait]
impl JobHandler for MailHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let Some(relay) = &self.relay else {
            return Err(JobError::Permanent(
                "no mail relay is configured (set smtp_url and mail_from, or STORESYNC_SMTP_URL \
                 and STORESYNC_MAIL_FROM); retry this job once one is"
                    .to_owned(),
            ));
        };
        let mail = self.store.open_mail(&job.payload)?;
        relay.send(&mail).await?;
        tracing::info!(job = %job.id, to = %mail.to, subject = %mail.subject, "mail sent");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relay_password_is_never_shown() {
        let relay = MailRelay::new(
            "smtps://relay:hunter22@mail.example.com:465",
            "StoreSync <no-reply@example.com>",
        )
        .unwrap();
        assert!(!format!("{relay:?}").contains("hunter22"));
        let err =
            MailRelay::new("https://relay:hunter22@mail.example.com", "a@example.com").unwrap_err();
        assert!(!err.contains("hunter22"), "{err}");
        assert!(MailRelay::new("smtp://127.0.0.1:25", "not an address").is_err());
    }
}
