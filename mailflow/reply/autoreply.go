package reply

import (
	"regexp"
	"strings"
)

// autoSubject matches subjects that begin with an auto-reply prefix (after
// optional blanks). Only a leading prefix counts: "回复: 自动答复: …" is a
// human reply quoting an auto-reply's subject.
var autoSubject = regexp.MustCompile(`(?i)^[\s\x{3000}]*((自动答复|自動答覆|自动回复|自動回覆|自动回覆|自動回复|不在办公室|不在辦公室|休假)|(automatic reply|auto[- ]?reply|auto[- ]?response|autoreply|out of (the )?office|oof|ooo)(\s*[:：\-]|\s|$))`)

// autoOnlyWithReply is "Auto:", which counts only on a reply (In-Reply-To).
var autoOnlyWithReply = regexp.MustCompile(`(?i)^\s*auto\s*[:：]`)

// DetectAutoReply tells whether a mail was sent automatically (out of office,
// auto-responder, vacation notice) rather than by a person, and names the
// header and value that decided, e.g. "Auto-Submitted: auto-replied".
//
// Signals: RFC 3834 Auto-Submitted other than "no"; X-Autoreply,
// X-Autorespond, X-Autoresponder; Precedence: auto_reply; an empty
// Return-Path (<>); X-Auto-Response-Suppress only when it names OOF or
// AutoReply; a subject that begins with an auto-reply prefix (自动答复,
// 自动回复, Automatic reply, Auto reply, Out of Office, 不在办公室, 休假, ...).
// Precedence: bulk/junk/list is not a signal: mailing lists add it to every
// human mail.
func DetectAutoReply(h Header) (bool, string) {
	if v, ok := first(h, "Auto-Submitted"); ok {
		token := strings.ToLower(strings.TrimSpace(strings.SplitN(stripComment(v), ";", 2)[0]))
		if token != "" && token != "no" {
			return true, "Auto-Submitted: " + strings.TrimSpace(v)
		}
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder"} {
		if v, ok := first(h, k); ok {
			return true, k + ": " + strings.TrimSpace(v)
		}
	}
	if v, ok := first(h, "Precedence"); ok && strings.EqualFold(strings.TrimSpace(v), "auto_reply") {
		return true, "Precedence: " + strings.TrimSpace(v)
	}
	if v, ok := first(h, "X-Auto-Response-Suppress"); ok {
		l := strings.ToLower(v)
		if strings.Contains(l, "oof") || strings.Contains(l, "autoreply") {
			return true, "X-Auto-Response-Suppress: " + strings.TrimSpace(v)
		}
	}
	if v, ok := first(h, "Return-Path"); ok && isNullPath(v) {
		return true, "Return-Path: " + strings.TrimSpace(v)
	}
	subj := strings.TrimSpace(decodeHeaderText(h.Get("Subject")))
	if m := autoSubject.FindString(subj); m != "" {
		return true, "Subject: " + subj
	}
	if autoOnlyWithReply.MatchString(subj) && h.Get("In-Reply-To") != "" {
		return true, "Subject: " + subj + " (with In-Reply-To)"
	}
	return false, ""
}

// first returns the first value of k and whether the field is present.
func first(h Header, k string) (string, bool) {
	v := h.Values(k)
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// isNullPath reports an empty envelope sender: "<>" possibly with blanks.
func isNullPath(v string) bool {
	s := strings.Join(strings.Fields(stripComment(v)), "")
	return s == "<>"
}

// stripComment removes (comments) from a structured header value.
func stripComment(v string) string {
	var sb strings.Builder
	depth := 0
	for _, r := range v {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}
