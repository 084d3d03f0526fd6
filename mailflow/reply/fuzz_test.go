package reply

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzExplain feeds raw mail bytes to Explain: no panic, no hang, and the
// promises of the JSON (lists never null, a known intent) hold.
func FuzzExplain(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "mails", "*.eml"))
	for _, sub := range []string{"autoreply-sisimai", "talon/tests/fixtures/standard_replies", "email_reply_trimmer/test/emails"} {
		if dir := corpusDirIfPresent(sub); dir != "" {
			more, _ := filepath.Glob(filepath.Join(dir, "*.*"))
			seeds = append(seeds, more...)
		}
	}
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte("Subject: x\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<blockquote><div id=divRplyFwdMsg>同意</div>\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := Explain(bytes.NewReader(raw), Options{MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		switch Kind(e.Intent) {
		case IntentApprove, IntentReject, IntentDone, IntentResults, IntentUnclear, IntentPartial:
		default:
			t.Fatalf("unknown intent %q", e.Intent)
		}
		if e.AutoReply && e.Intent != string(IntentUnclear) {
			t.Fatalf("auto-reply decided %s", e.Intent)
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if bytes.Contains(b, []byte(":null")) {
			t.Fatalf("null in JSON: %s", b)
		}
	})
}

// corpusDirIfPresent is corpusDir without a testing.TB: "" when absent.
func corpusDirIfPresent(sub string) string {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", sub)
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}
