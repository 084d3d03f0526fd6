package reply

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from the current output")

// TestGoldenMails explains every mail in testdata/mails and compares the JSON
// with testdata/golden/NAME.json. Each mail's name ends in the intent it must
// have (NAME.approve.eml, NAME.unclear.eml ...), checked apart from the
// golden, so that regenerating goldens cannot hide a wrong approval.
func TestGoldenMails(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "mails", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 60 {
		t.Fatalf("only %d test mails; want at least 60", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".eml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := name[strings.LastIndexByte(name, '.')+1:]
			e := explainFile(t, f)
			if e.Intent != want {
				t.Errorf("intent %q, want %q (new text %q, why %q)", e.Intent, want, e.NewText, e.Why)
			}
			got, err := json.MarshalIndent(e, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			wantJSON, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("no golden (run go test -run TestGoldenMails -update): %v", err)
			}
			if !bytes.Equal(got, wantJSON) {
				t.Errorf("explanation differs from %s:\n--- got:\n%s\n--- want:\n%s", golden, got, wantJSON)
			}
		})
	}
}

// TestGoldenNeverApproveByMistake: no mail whose name says it is not an
// approval may approve, whatever the goldens say.
func TestGoldenNeverApproveByMistake(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "mails", "*.eml"))
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasSuffix(name, ".approve.eml") || strings.HasSuffix(name, ".partial.eml") {
			continue
		}
		if e := explainFile(t, f); e.Intent == string(IntentApprove) || e.Intent == string(IntentPartial) {
			t.Errorf("%s: false approval (%s), new text %q", name, e.Intent, e.NewText)
		}
	}
}
