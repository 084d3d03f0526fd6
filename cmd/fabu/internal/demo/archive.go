package demo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// MailsDir is the folder (inside the output folder) of the mails.
const MailsDir = "mails"

// Archive writes every delivered mail into the output folder: the mail as
// sent (.eml), a readable copy (.html) and its attachments.
type Archive struct {
	dir string // the output folder

	mu    sync.Mutex
	mails []*Mail
	byID  map[string]*Mail // Message-ID (lower case) → mail
}

// NewArchive creates dir/mails.
func NewArchive(dir string) (*Archive, error) {
	if err := os.MkdirAll(filepath.Join(dir, MailsDir), 0o755); err != nil {
		return nil, fmt.Errorf("demo output: %w", err)
	}
	return &Archive{dir: dir, byID: map[string]*Mail{}}, nil
}

// Save names m and writes its files.
func (a *Archive) Save(m *Mail) error {
	a.mu.Lock()
	answered := a.byID[strings.ToLower(m.Msg.InReplyTo)]
	a.mu.Unlock()
	m.Name = fmt.Sprintf("%02d-%s", m.Seq, m.stem(answered))
	m.EML = MailsDir + "/" + m.Name + ".eml"
	m.View = MailsDir + "/" + m.Name + ".html"
	if err := os.WriteFile(filepath.Join(a.dir, m.EML), m.Raw, 0o644); err != nil {
		return fmt.Errorf("save mail: %w", err)
	}
	_, _, atts, _ := parts(m.Raw)
	for i := range atts {
		ext := filepath.Ext(atts[i].Name)
		name := fmt.Sprintf("%s-attachment-%d%s", m.Name, i+1, safeName(ext))
		atts[i].File = MailsDir + "/" + name
		if err := os.WriteFile(filepath.Join(a.dir, atts[i].File), atts[i].Data, 0o644); err != nil {
			return fmt.Errorf("save attachment: %w", err)
		}
	}
	m.Attachments = atts
	viewAtts := make([]attachment, len(atts))
	for i, at := range atts {
		viewAtts[i] = attachment{Name: at.Name, File: filepath.Base(at.File)}
	}
	f, err := os.Create(filepath.Join(a.dir, m.View))
	if err != nil {
		return fmt.Errorf("save mail view: %w", err)
	}
	if err := writeView(f, m, m.Name+".eml", viewAtts); err != nil {
		f.Close()
		return fmt.Errorf("render mail view %s: %w", m.View, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	a.mu.Lock()
	a.mails = append(a.mails, m)
	a.byID[strings.ToLower(m.Msg.MessageID)] = m
	a.mu.Unlock()
	return nil
}

// Mails returns the saved mails in delivery order.
func (a *Archive) Mails() []*Mail {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*Mail(nil), a.mails...)
}

// ManifestEntry is one mail in mails.json.
type ManifestEntry struct {
	Seq         int       `json:"seq"`
	File        string    `json:"file"`
	View        string    `json:"view"`
	Attachments []string  `json:"attachments,omitempty"`
	At          time.Time `json:"at"` // simulated delivery time
	From        string    `json:"from"`
	To          []string  `json:"to"`
	Cc          []string  `json:"cc,omitempty"`
	Mailboxes   []string  `json:"delivered_to"`
	Subject     string    `json:"subject"`
	MessageID   string    `json:"message_id"`
	InReplyTo   string    `json:"in_reply_to,omitempty"`
	FromFabu    bool      `json:"from_fabu"`
	Kind        string    `json:"kind,omitempty"`
	Step        string    `json:"step,omitempty"`
	Release     string    `json:"release,omitempty"`
}

// Manifest lists the mails for mails.json.
func (a *Archive) Manifest() []ManifestEntry {
	var out []ManifestEntry
	for _, m := range a.Mails() {
		e := ManifestEntry{Seq: m.Seq, File: m.EML, View: m.View, At: m.At, From: m.Msg.From.Addr, Mailboxes: m.Mailboxes,
			Subject: m.Msg.Subject, MessageID: m.Msg.MessageID, InReplyTo: m.Msg.InReplyTo, FromFabu: m.FromFabu,
			Kind: m.Kind, Step: m.Step, Release: m.Release}
		for _, t := range m.Msg.To {
			e.To = append(e.To, t.Addr)
		}
		for _, t := range m.Msg.Cc {
			e.Cc = append(e.Cc, t.Addr)
		}
		for _, at := range m.Attachments {
			e.Attachments = append(e.Attachments, at.File)
		}
		out = append(out, e)
	}
	return out
}

// writeJSON writes v as indented JSON to path.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
