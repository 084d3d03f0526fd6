// Package intake acts on the replies the IMAP watcher hands it: it matches a
// mail to one train, release and step, checks that the sender may answer
// that step, understands the new text (mailflow/reply) and records the
// decision, results or confirmation in the watcher's store transaction
// together with the mails it causes (queued through mailflow/train).
//
// It is not the transport (mailflow/imapwatch fetches the mail and dedupes
// Message-IDs), nor the reading of a mail's words (mailflow/reply), nor the
// wording of the mails (mailflow/train and templates).
//
// # Matching
//
// A reply belongs to the mail it answers, found by the first of: its
// In-Reply-To (a Message-ID the outbox sent, ledger.SentByMessageID), the
// reply token in a plus-address among To/Cc (fabu+TOKEN@…), the subject
// tag [#short] (ledger.SentByToken), References from the last to the first
// (sent Message-IDs, and the <fabu-token.TOKEN@…> msg-id). Any one of them
// is enough. The token of the matched mail is verified (mailflow/token):
// a forged or altered token anywhere in the mail, a token of another train,
// or references that name different releases are ignored; an expired
// token is refused. A mail that matches nothing is recorded and ignored,
// never guessed at.
//
// # Who may answer
//
// The token never grants anything: the sender (From, with the aliases the
// Directory knows) must hold the role the matched mail asked an answer of.
// Managers approve or reject the test-complete report; a deputy does so
// after a manager's out-of-office reply was relayed for that release (or
// always, with DeputyAlways); testers and test leads report results; ops
// confirm the release. Never deciding, and recorded with the reason:
// unknown senders (who get no mail at all), fabu's own mail, automatic
// replies, senders without a DKIM/DMARC pass when an AuthPolicy requires
// one, and replies to a release already decided. Known people whose reply
// tried to decide something but could not be used get a short mail saying
// why (train.NotifyCannotUse); an unclear answer gets a clarification
// (train.Clarify). A manager's out-of-office reply to the report is relayed
// once per manager and release (train.RelayOutOfOffice).
//
// # Deciding
//
// A manager's decision counts only on the current report: when the list or
// a result changed after the report, the reply is refused and the current
// report is mailed (train.RefuseOutdated). The Rule says how many distinct
// approvals approve (default one) and how many rejections reject (default
// one); each decider's latest word on the current report is kept as a Vote
// (bucket "intake"). A partial approval ("同意，21 除外") approves the rest:
// the left-out entries go back to dev_done for a later train, the change is
// kept pending on the release so the ops mail announces it, and then
// train.Approve runs. Results are recorded per entry and environment (the
// environment of the mail answered, or one named on the line: "20 SIT 通过",
// "UAT 21 不通过 …", or an environment alone on a line for the lines below).
// Ops' "done" marks the release released (train.Released).
//
// # After the commit
//
// Handle has no effect outside the transaction. Waking the outbox worker
// and the early report (every entry passed the last environment) wait for
// the commit: the watcher reports each recorded mail to its Observer, and
// Handler.Observer wraps the daemon's observer to run Options.Kick and
// Options.OnAllPassed then.
package intake
