package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
)

func TestReleaseShowListsMailsSentAndReceived(t *testing.T) {
	cfgPath, report := storeWithReport(t)
	store, err := ledger.Open(filepath.Join(filepath.Dir(cfgPath), "fabu.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = store.Update(func(tx *ledger.Tx) error {
		for _, r := range []ledger.Received{
			{MessageID: "<a@mail.example.com>", Mailbox: "INBOX", UIDValidity: 1, UID: 1, From: "琳琳 <linlin@example.com>",
				ReceivedAt: time.Now(), Verdict: "refused", Reason: "report asked for the manager's answer and 琳琳 is not a manager",
				Release: storeTestRelease, Step: "report"},
			{MessageID: "<b@mail.example.com>", Mailbox: "INBOX", UIDValidity: 1, UID: 2, From: "eve@example.org",
				ReceivedAt: time.Now(), Verdict: "ignored", Reason: "unknown sender"},
		} {
			if err := tx.PutReceived(&r); err != nil {
				return err
			}
		}
		return nil
	})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, err := runReplyCLI(t, "--config", cfgPath, "release", "show", storeTestRelease)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"mails sent (2):", "testlist", "report", "limanager@example.com", "mails received (1):",
		"linlin@example.com", "refused", "is not a manager"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "eve@example.org") {
		t.Errorf("a mail of no release is listed:\n%s", out)
	}
	out, err = runReplyCLI(t, "--config", cfgPath, "release", "show", "--json", storeTestRelease)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Name string `json:"name"`
		Sent []struct {
			Step      string `json:"step"`
			MessageID string `json:"message_id"`
		} `json:"mails_sent"`
		Received []ledger.Received `json:"mails_received"`
		Votes    []any             `json:"votes"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Name != storeTestRelease || len(got.Sent) != 2 || got.Sent[1].MessageID != report.MessageID || len(got.Received) != 1 || got.Votes == nil {
		t.Errorf("json:\n%s", out)
	}
}
