// Package maillab runs real mail servers for fabu's end-to-end tests: a
// private Dovecot 2.3 (IMAP, IMAPS, LMTP, SASL auth) and a private
// Postfix 3.7 (SMTP and submission) that delivers over LMTP into Dovecot's
// mailboxes, both on free loopback ports, with all state in one folder.
// Tests drive the real path fabu uses in production — go-mail submitting
// with STARTTLS + AUTH PLAIN, go-imap reading over TLS with IDLE — and
// inject faults: Postfix down (StopSMTP/StartSMTP), Dovecot down or
// restarted (StopIMAP/StartIMAP/RestartIMAP), a mailbox recreated with a
// new UIDVALIDITY (RecreateMailbox).
//
// It is test support only: import it from _test.go files. It is not a
// mock (use imapmemserver / go-smtp servers for fast unit tests), not
// portable (Linux, root, Debian's dovecot-imapd, dovecot-lmtpd and postfix
// packages: see .ci/install-maillab), and not a mail server
// configuration to copy into production.
//
// # Gating
//
// StartT (and Require) skip a test unless FABU_E2E=1 or CI=true. In CI a
// missing server or missing root is a test failure, not a skip.
//
// # Why Postfix and not Dovecot's submission service
//
// Postfix is what fabu's users run in front of their mailboxes, so its
// replies, queueing and retry behaviour are the ones the daemon must
// handle; dovecot-submissiond is a proxy that users rarely deploy. Postfix
// authenticates submission clients through Dovecot's auth service
// (smtpd_sasl_type = dovecot over an inet listener), checks recipients
// against a texthash table of the lab users (unknown users get 550 during
// the dialogue), and delivers with lmtp:inet: to Dovecot. Mail to other
// domains bounces at once (default_transport = error), never leaving the
// machine.
//
// # Ports and addresses
//
// Six ports are taken free from the kernel at every Start: IMAP (plain
// with STARTTLS), IMAPS, LMTP and auth (Dovecot), SMTP (MX-like: no AUTH,
// STARTTLS offered, lab recipients only; "mail from outside", see
// Deliver) and submission (STARTTLS then AUTH required; see Submit).
// When a port is taken between being picked and being bound, Start tries
// again with new ports. Restarts of one server reuse its ports.
//
// # TLS
//
// Each Start makes a throw-away ECDSA CA and a certificate for localhost
// and 127.0.0.1 with crypto/x509 (no openssl). Clients trust it with
// CertPool, TLSConfig or CACertPEM.
//
// # Layout of Dir
//
//	tls/               ca.pem, cert.pem (chain), key.pem
//	dovecot/           dovecot.conf, users (passwd-file), state/, run/ (sockets)
//	mail/<domain>/<local>/Maildir   mailboxes, owned by the "mail" user
//	postfix/etc/       main.cf, master.cf, vmailbox
//	postfix/queue/     queue_directory;  postfix/data/: data_directory
//	log/               dovecot.log, postfix.log, *.out (server stdout/stderr)
//
// Configs and certificates are rewritten at every Start; mailboxes and the
// queue stay, so a second Start on the same Dir after Stop finds the mail.
// When Dir is too long for Unix socket paths, Dovecot's sockets and a
// symlink to the Postfix queue go to a short folder in the temp dir,
// removed by Stop.
//
// # Processes
//
// Both masters run in the foreground as children of the test process
// ("dovecot -F", Postfix's "master -s"), with Pdeathsig so a killed test
// takes them down. Stop (registered with t.Cleanup by StartT) sends
// SIGTERM to each process group, SIGKILL after a grace period, and waits
// until every port refuses connections. Before stopping Postfix it waits
// (up to 3 s) for mail in flight to be delivered: a master stopped between
// Dovecot's "250 Saved" and Postfix recording it delivers that message
// again at the next start — real at-least-once behaviour, but not one a
// stop should inject by chance.
//
// Ports are picked below the kernel's ephemeral range (32768-60999 on
// Linux by default), so that while a server is down for a fault its port
// cannot be taken by an outgoing connection; labs of one process never
// share a port.
//
// # Pitfalls found on Debian 12 (see also /work/shared/design/mail-lab.md)
//
//   - Postfix re-reads a main.cf or lookup table modified in the last
//     second or two, 300 ms at a time, until it is old enough: freshly
//     written configs cost ~2 s per start. The lab dates its files an hour
//     back.
//   - "postfix start" and "postfix check" take ~2.4 s (post-install,
//     postsuper) and background the master. The lab creates the queue
//     folders with Postfix's owners and modes itself and runs the master
//     directly: a lab starts in ~0.2 s.
//   - The Postfix master calls setsid(): it must not already lead a
//     process group, so it is started without Setpgid (it leads its own
//     group afterwards).
//   - The Postfix master reports start-up failures (bind errors, bad
//     data_directory owner) only to syslog; maillog_file works only once
//     postlogd runs. The lab detects port clashes by probing the ports and
//     otherwise adds postconf's warnings to the error.
//   - Postfix daemons log through the socket queue_directory +
//     "/public/postlog", by absolute path: when that is longer than a
//     Unix socket path may be (107 bytes) the master dies, silently. For a
//     long Dir the lab points queue_directory at a short symlink (and puts
//     Dovecot's sockets in a short folder), removed by Stop.
//   - Services must not be chrooted (master.cf chroot column "n"): the lab
//     queue is no chroot jail. data_directory must be owned by postfix.
//   - Dovecot stores mail as the "mail" user (uid 8), which it refuses
//     below first_valid_uid (default 500): first_valid_uid = 1. That user,
//     and postfix, must be able to pass through every parent of Dir:
//     testing's per-test temp folder is 0700, so StartT makes it 0711.
//   - Dovecot waits 2 s before answering a failed login
//     (auth_failure_delay); the lab sets 0 to keep tests fast.
//   - go-mail uses SMTPUTF8 when offered, so Postfix's Received header
//     says "with UTF8SMTPSA" rather than "with ESMTPSA"; Dovecot's LMTP
//     takes such mail fine.
//   - A go-mail send to a stopped Postfix fails with an error wrapping
//     ECONNREFUSED. A Submit while Dovecot (the SASL backend) is down gets
//     "454 4.7.0 Temporary authentication failure" or, when the smtpd
//     process dies for want of SASL mechanisms, a reset connection during
//     AUTH: both temporary. Mail to the MX-like port is still queued then.
package maillab
