// Package intake acts on the replies the IMAP watcher hands it: it matches a
// mail to one train, release and step (In-Reply-To/References to a
// Message-ID the outbox sent, or the reply token in the plus-address or the
// subject), checks that the sender may decide (role, token, optional
// DKIM/DMARC), understands the new text (mailflow/reply) and records the
// decision, results or confirmation in one store transaction together with
// the mails it causes.
//
// It is not the transport (mailflow/imapwatch fetches the mail) nor the
// wording of the mails (mailflow/train renders them).
package intake
