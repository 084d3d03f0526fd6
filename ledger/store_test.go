package ledger

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// storeTestClock is the fixed clock of the store tests.
func storeTestClock() time.Time { return time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC) }

// newStoreAt opens (creating) a store at path with the fixed clock.
func newStoreAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, Options{Now: storeTestClock, LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawMeta reads meta/<key> straight from a closed store file.
func rawMeta(t *testing.T, path, key string) string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketMeta); b != nil {
			v = string(b.Get([]byte(key)))
		}
		return nil
	})
	return v
}

// setRawMeta writes meta/<key> straight into a closed store file.
func setRawMeta(t *testing.T, path, key, value string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), []byte(value))
	}); err != nil {
		t.Fatal(err)
	}
}

func TestStoreNewFileGetsCurrentSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fabu.db")
	s := newStoreAt(t, path)
	s.Close()
	if got := rawMeta(t, path, "schema"); got != fmt.Sprint(SchemaVersion) {
		t.Errorf("meta/schema = %q, want %d", got, SchemaVersion)
	}
	if got := rawMeta(t, path, "created"); got != "2026-11-27T09:30:00Z" {
		t.Errorf("meta/created = %q, want the clock's time", got)
	}
}

func TestStoreSchemaVersions(t *testing.T) {
	cases := []struct {
		name    string
		schema  string
		wantErr string
	}{
		{"newer than this build", fmt.Sprint(SchemaVersion + 1), "newer than this fabu understands"},
		{"not a number", "one", "bad schema version"},
		{"older without a migration", "-1", "no migration from schema -1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "fabu.db")
			newStoreAt(t, path).Close()
			setRawMeta(t, path, "schema", tc.schema)
			_, err := Open(path, Options{LockTimeout: time.Second})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Open with schema %q: err = %v, want one naming %s and saying %q", tc.schema, err, path, tc.wantErr)
			}
			if got := rawMeta(t, path, "schema"); got != tc.schema {
				t.Errorf("a refused store was changed: schema %q, want %q", got, tc.schema)
			}
		})
	}
}

// TestStoreMigrationPath runs a registered migration from an older schema.
// It changes the package's migration table, so it does not run in parallel.
func TestStoreMigrationPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fabu.db")
	s := newStoreAt(t, path)
	if err := s.Update(func(tx *Tx) error { return tx.PutEntry(&Entry{ID: "7", System: "小贷"}) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	setRawMeta(t, path, "schema", fmt.Sprint(SchemaVersion-1))

	ran := 0
	old, had := migrations[SchemaVersion-1]
	migrations[SchemaVersion-1] = func(tx *bolt.Tx) error {
		ran++
		return tx.Bucket(bucketMeta).Put([]byte("migrated"), []byte("yes"))
	}
	t.Cleanup(func() {
		if had {
			migrations[SchemaVersion-1] = old
		} else {
			delete(migrations, SchemaVersion-1)
		}
	})

	s = newStoreAt(t, path)
	s.Close()
	if ran != 1 {
		t.Fatalf("migration ran %d times, want 1", ran)
	}
	if got := rawMeta(t, path, "schema"); got != fmt.Sprint(SchemaVersion) {
		t.Errorf("schema after migration = %q, want %d", got, SchemaVersion)
	}
	if rawMeta(t, path, "migrated") != "yes" {
		t.Error("the migration's write was not committed")
	}
	s = newStoreAt(t, path)
	if ran != 1 {
		t.Errorf("migration ran again on a current store")
	}
	s.View(func(tx *Tx) error {
		if e, err := tx.Entry("7"); err != nil || e.System != "小贷" {
			t.Errorf("entry after migration: %+v, %v", e, err)
		}
		return nil
	})

	// A failing migration leaves the store as it was.
	s.Close()
	setRawMeta(t, path, "schema", fmt.Sprint(SchemaVersion-1))
	migrations[SchemaVersion-1] = func(tx *bolt.Tx) error {
		tx.Bucket(bucketMeta).Put([]byte("half"), []byte("done"))
		return errors.New("disk says no")
	}
	if _, err := Open(path, Options{LockTimeout: time.Second}); err == nil || !strings.Contains(err.Error(), "disk says no") {
		t.Fatalf("failing migration: err = %v", err)
	}
	if rawMeta(t, path, "half") != "" || rawMeta(t, path, "schema") != fmt.Sprint(SchemaVersion-1) {
		t.Error("a failed migration left changes behind")
	}
}

func TestStoreOpenNeedsFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "fabu.db")
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("err = %v, want a missing-folder error", err)
	}
}

func TestStoreUpdateIsOneTransaction(t *testing.T) {
	s := newStoreAt(t, filepath.Join(t.TempDir(), "fabu.db"))
	boom := errors.New("boom")
	err := s.Update(func(tx *Tx) error {
		if err := tx.PutEntry(&Entry{ID: "1"}); err != nil {
			return err
		}
		if err := tx.Audit(AuditRecord{Actor: "t", Action: "entry.set", Subject: "1"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	s.View(func(tx *Tx) error {
		if _, err := tx.Entry("1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("entry of a failed transaction exists (err %v)", err)
		}
		if log, _ := tx.AuditLog(""); len(log) != 0 {
			t.Errorf("audit of a failed transaction kept: %+v", log)
		}
		return nil
	})
}

func TestStoreLockSameProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fabu.db")
	newStoreAt(t, path)
	_, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "is in use by another fabu") {
		t.Fatalf("second Open: err = %v, want ErrLocked", err)
	}
}

const lockChildEnv = "FABU_LEDGER_LOCK_CHILD"

// TestStoreLockHelperProcess is the child of TestStoreLockTwoProcesses: it
// holds the store named by $FABU_LEDGER_LOCK_CHILD until its stdin closes.
func TestStoreLockHelperProcess(t *testing.T) {
	path := os.Getenv(lockChildEnv)
	if path == "" {
		t.Skip("helper process of TestStoreLockTwoProcesses")
	}
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Println("open failed:", err)
		os.Exit(3)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	s.Close()
	os.Exit(0)
}

// TestStoreLockTwoProcesses runs this test binary again as a child that
// holds the store; opening it here must fail within 2 s with a clear error.
func TestStoreLockTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fabu.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestStoreLockHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	t.Cleanup(func() {
		if !exited {
			stdin.Close()
			cmd.Wait()
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- ""
				io.Copy(io.Discard, stdout)
				return
			}
			ready <- sc.Text()
			return
		}
		ready <- "child ended without saying ready"
	}()
	select {
	case msg := <-ready:
		if msg != "" {
			t.Fatalf("child: %s\n%s", msg, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("child did not open the store within a minute")
	}

	start := time.Now()
	s, err := Open(path, Options{}) // the default lock timeout
	elapsed := time.Since(start)
	if err == nil {
		s.Close()
		t.Fatal("second process opened a store another process holds")
	}
	if !errors.Is(err, ErrLocked) {
		t.Errorf("err = %v, want one wrapping ErrLocked", err)
	}
	want := "the store " + path + " is in use by another fabu"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to say %q", err, want)
	}
	if elapsed > 2*time.Second {
		t.Errorf("second Open gave up after %s, want within 2 s", elapsed)
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	exited = true
	newStoreAt(t, path) // free again once the child let go
}

func TestStoreBackupReopens(t *testing.T) {
	dir := t.TempDir()
	s := newStoreAt(t, filepath.Join(dir, "fabu.db"))
	want := []*Entry{
		{ID: "20", System: "小贷", Subsystem: "账务", Status: StatusInProgress, StatusText: "处理中", ProposedOn: Date{2019, 3, 1}},
		{ID: "21", System: "核心", Description: "多行\n描述, \"引号\"", Extras: []Extra{{Header: "备注", Value: "x"}}},
	}
	if err := s.Update(func(tx *Tx) error {
		for _, e := range want {
			if err := tx.PutEntry(e); err != nil {
				return err
			}
		}
		return tx.Audit(AuditRecord{Actor: "cli", Action: "entry.set", Subject: "20", Field: "status", Old: "待处理", New: "处理中"})
	}); err != nil {
		t.Fatal(err)
	}
	// A read transaction stays open during the backup: it is a hot copy.
	backup := filepath.Join(dir, "backup.db")
	var n int64
	err := s.View(func(*Tx) error {
		var err error
		n, err = s.BackupFile(backup)
		return err
	})
	if err != nil || n == 0 {
		t.Fatalf("BackupFile: %d bytes, %v", n, err)
	}
	// Changes after the backup are not in it.
	if err := s.Update(func(tx *Tx) error { return tx.PutEntry(&Entry{ID: "99"}) }); err != nil {
		t.Fatal(err)
	}

	b := newStoreAt(t, backup)
	b.View(func(tx *Tx) error {
		got, err := tx.Entries()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("backup has %d entries, want %d", len(got), len(want))
		}
		for i := range want {
			if !got[i].Equal(want[i]) {
				t.Errorf("backup entry %d = %+v, want %+v", i, got[i], want[i])
			}
		}
		log, err := tx.AuditLog("20")
		if err != nil || len(log) != 1 || log[0].New != "处理中" || !log[0].Time.Equal(storeTestClock()) {
			t.Errorf("backup audit = %+v, %v", log, err)
		}
		return nil
	})
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("backup left temporary files: %v", entries)
	}
	if _, err := s.BackupFile(filepath.Join(dir, "nope", "b.db")); err == nil {
		t.Error("backup into a missing folder succeeded")
	}
}
