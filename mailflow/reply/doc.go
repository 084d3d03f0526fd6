// Package reply understands a reply mail: it reads the MIME message, tells
// whether it is an automatic reply, cuts the quoted original and signatures
// off so that only the sender's own new text remains, and classifies that
// text as an approval, a rejection, a release confirmation, per-entry test
// results, a partial approval, or unclear.
//
// The rule it is built around: words that the sender did not write in this
// reply never count. The quoted original (which itself contains 同意 and 驳回),
// an out-of-office reply, a negated or questioning sentence ("不同意",
// "可以发吗？") must never yield an approval; when in doubt the intent is
// unclear.
//
// What it is not: it does not decide whether the sender may decide (roles,
// tokens, In-Reply-To matching, Authentication-Results) and it keeps no state;
// callers do that with the Message and Intent it returns. It reads one mail
// from an io.Reader with bounded memory (Options.MaxBytes) and never panics on
// hostile input.
//
// Entry points: Parse (MIME intake), DetectAutoReply, Trim, Classify and
// Explain, which runs all four and returns a JSON-friendly Explanation.
package reply
