package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout version this build reads and writes.
// Migrations from older versions run in Open, in one transaction.
const SchemaVersion = 1

// DefaultTrain is the train name used when none is configured.
const DefaultTrain = "default"

// Key layout (all values JSON unless noted):
//
//	meta/schema                      → decimal schema version
//	meta/created                     → RFC 3339 time the store was made
//	trains/<train>/entries/<id>      → Entry
//	trains/<train>/releases/<R>      → Release (R = YYYY-MM-DD)
//	trains/<train>/outbox/<key>      → OutboxMail (key: see outbox.go)
//	trains/<train>/sent/<message-id> → SentRef: which release/step/mail sent it
//	trains/<train>/inbox/<message-id>→ Received: a mail read and what became of it
//	trains/<train>/steps/<R>/<step>  → StepState
//	trains/<train>/results/<R>/<id>/<env> → Result
//	trains/<train>/cursors/<mailbox> → Cursor (UIDVALIDITY, last UID)
//	trains/<train>/audit/<seq>       → AuditRecord (seq: 8-byte big endian)
//	trains/<train>/tokens/<short>    → the full reply token a subject tag [#short] stands for
//
// Every bucket below a train is created on demand in a write transaction.
var (
	bucketMeta   = []byte("meta")
	bucketTrains = []byte("trains")
)

// Bucket names below a train.
const (
	BucketEntries  = "entries"
	BucketReleases = "releases"
	BucketOutbox   = "outbox"
	BucketSent     = "sent"
	BucketInbox    = "inbox"
	BucketSteps    = "steps"
	BucketResults  = "results"
	BucketCursors  = "cursors"
	BucketAudit    = "audit"
)

// ErrNotFound is returned (wrapped) when a key does not exist.
var ErrNotFound = errors.New("not found")

// ErrLocked is returned (wrapped) by Open when another process holds the store.
var ErrLocked = errors.New("store is in use by another fabu")

// Options configure Open.
type Options struct {
	// Train is the train the Tx methods act on (default "default").
	Train string
	// LockTimeout bounds the wait for the file lock (default 1.5 s).
	LockTimeout time.Duration
	// ReadOnly opens the file for reading (shared lock).
	ReadOnly bool
	// Now is the clock used for audit times (default time.Now).
	Now func() time.Time
}

// initialMmapSize is the address space mapped for the file at open (not
// memory used). Without it bbolt remaps as the file grows, and each remap
// in a write transaction copies every node of the transaction: a bulk
// import of 100,000 entries spent a fifth of its time there.
const initialMmapSize = 256 << 20

// Store is the bbolt file. It is safe for concurrent use.
type Store struct {
	db    *bolt.DB
	path  string
	train string
	now   func() time.Time
}

// Open opens (creating if needed) the store at path, migrating its schema.
// When another process holds the file it fails within LockTimeout with an
// error wrapping ErrLocked.
func Open(path string, opts Options) (*Store, error) {
	if opts.Train == "" {
		opts.Train = DefaultTrain
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 1500 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if dir := filepath.Dir(path); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("open store %s: folder %s does not exist (create it or choose another --db)", path, dir)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, ReadOnly: opts.ReadOnly, InitialMmapSize: initialMmapSize})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("the store %s is in use by another fabu (waited %s for its lock; stop the other process or use another --db): %w", path, opts.LockTimeout, ErrLocked)
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db, path: path, train: opts.Train, now: opts.Now}
	if !opts.ReadOnly {
		if err := s.migrate(); err != nil {
			db.Close()
			return nil, err
		}
	} else if err := s.checkVersion(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Path is the file the store lives in.
func (s *Store) Path() string { return s.path }

// Train is the train this store's transactions act on by default.
func (s *Store) Train() string { return s.train }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

// migrations[v] moves a store from schema v to v+1.
var migrations = map[int]func(tx *bolt.Tx) error{}

func (s *Store) migrate() error {
	// A store already at this schema needs no write at all.
	current := false
	s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		current = meta != nil && tx.Bucket(bucketTrains) != nil && string(meta.Get([]byte("schema"))) == fmt.Sprint(SchemaVersion)
		return nil
	})
	if current {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(bucketTrains); err != nil {
			return err
		}
		v := 0
		if b := meta.Get([]byte("schema")); b != nil {
			if _, err := fmt.Sscan(string(b), &v); err != nil {
				return fmt.Errorf("store %s: bad schema version %q", s.path, b)
			}
		} else {
			v = SchemaVersion // a new store starts at the current layout
			if err := meta.Put([]byte("created"), []byte(s.now().UTC().Format(time.RFC3339))); err != nil {
				return err
			}
		}
		if v > SchemaVersion {
			return fmt.Errorf("store %s has schema version %d, newer than this fabu understands (%d): upgrade fabu", s.path, v, SchemaVersion)
		}
		for ; v < SchemaVersion; v++ {
			m, ok := migrations[v]
			if !ok {
				return fmt.Errorf("store %s: no migration from schema %d", s.path, v)
			}
			if err := m(tx); err != nil {
				return fmt.Errorf("store %s: migrate schema %d → %d: %w", s.path, v, v+1, err)
			}
		}
		return meta.Put([]byte("schema"), []byte(fmt.Sprint(SchemaVersion)))
	})
}

func (s *Store) checkVersion() error {
	return s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("store %s is empty or not a fabu store", s.path)
		}
		var v int
		fmt.Sscan(string(meta.Get([]byte("schema"))), &v)
		if v != SchemaVersion {
			return fmt.Errorf("store %s has schema %d; open it read-write once to migrate to %d", s.path, v, SchemaVersion)
		}
		return nil
	})
}

// Tx is one transaction over the store, scoped to a train.
type Tx struct {
	tx    *bolt.Tx
	train string
	now   time.Time
}

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(tx *Tx) error) error {
	return s.db.View(func(btx *bolt.Tx) error {
		return fn(&Tx{tx: btx, train: s.train, now: s.now()})
	})
}

// Update runs fn in a read-write transaction: everything fn does is
// committed together, or nothing if fn returns an error.
func (s *Store) Update(fn func(tx *Tx) error) error {
	return s.db.Update(func(btx *bolt.Tx) error {
		return fn(&Tx{tx: btx, train: s.train, now: s.now()})
	})
}

// WithTrain returns a Tx over the same transaction acting on another train.
func (t *Tx) WithTrain(train string) *Tx {
	return &Tx{tx: t.tx, train: train, now: t.now}
}

// TrainName is the train the Tx acts on.
func (t *Tx) TrainName() string { return t.train }

// Now is the time the transaction started, from the store's clock.
func (t *Tx) Now() time.Time { return t.now }

// Writable reports whether the transaction may write.
func (t *Tx) Writable() bool { return t.tx.Writable() }

// Backup writes a consistent copy of the whole store to w from a read
// transaction (the daemon keeps running).
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// BackupFile writes a hot backup to path atomically (temp file + rename).
func (s *Store) BackupFile(path string) (int64, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".fabu-backup-*")
	if err != nil {
		return 0, fmt.Errorf("backup to %s: %w", path, err)
	}
	n, err := s.Backup(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return 0, fmt.Errorf("backup to %s: %w", path, err)
	}
	return n, nil
}

// bucket returns the bucket at path below the train, creating it in a
// write transaction. In a read transaction a missing bucket is nil.
func (t *Tx) bucket(path ...string) (*bolt.Bucket, error) {
	root := t.tx.Bucket(bucketTrains)
	if root == nil {
		return nil, fmt.Errorf("store has no trains bucket")
	}
	names := append([]string{t.train}, path...)
	b := root
	for _, n := range names {
		next := b.Bucket([]byte(n))
		if next == nil {
			if !t.tx.Writable() {
				return nil, nil
			}
			var err error
			next, err = b.CreateBucket([]byte(n))
			if err != nil {
				return nil, fmt.Errorf("create bucket %s: %w", n, err)
			}
		}
		b = next
	}
	return b, nil
}

// GetJSON reads the value at key in the bucket path into v. It returns an
// error wrapping ErrNotFound when absent.
func (t *Tx) GetJSON(path []string, key string, v any) error {
	b, err := t.bucket(path...)
	if err != nil {
		return err
	}
	var raw []byte
	if b != nil {
		raw = b.Get([]byte(key))
	}
	if raw == nil {
		return fmt.Errorf("%s %q: %w", path[len(path)-1], key, ErrNotFound)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s %q: %w", path[len(path)-1], key, err)
	}
	return nil
}

// PutJSON stores v at key in the bucket path.
func (t *Tx) PutJSON(path []string, key string, v any) error {
	b, err := t.bucket(path...)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", path[len(path)-1], key, err)
	}
	return b.Put([]byte(key), raw)
}

// Has reports whether key exists in the bucket path.
func (t *Tx) Has(path []string, key string) (bool, error) {
	b, err := t.bucket(path...)
	if err != nil || b == nil {
		return false, err
	}
	return b.Get([]byte(key)) != nil, nil
}

// Delete removes key from the bucket path (absent is fine).
func (t *Tx) Delete(path []string, key string) error {
	b, err := t.bucket(path...)
	if err != nil || b == nil {
		return err
	}
	return b.Delete([]byte(key))
}

// ForEachRaw calls fn for every key/value in the bucket path, in key
// order, starting at the first key >= from (all when from is "").
// Values are only valid during fn. Return errStop from fn to stop early.
func (t *Tx) ForEachRaw(path []string, from string, fn func(k, v []byte) error) error {
	b, err := t.bucket(path...)
	if err != nil || b == nil {
		return err
	}
	c := b.Cursor()
	var k, v []byte
	if from == "" {
		k, v = c.First()
	} else {
		k, v = c.Seek([]byte(from))
	}
	for ; k != nil; k, v = c.Next() {
		if v == nil {
			continue // nested bucket
		}
		if err := fn(k, v); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

// ErrStop ends a ForEach early without error.
var ErrStop = errors.New("stop iteration")

// NextSeq returns the next sequence number of the bucket path.
func (t *Tx) NextSeq(path ...string) (uint64, error) {
	b, err := t.bucket(path...)
	if err != nil {
		return 0, err
	}
	if b == nil {
		return 0, fmt.Errorf("NextSeq needs a write transaction")
	}
	return b.NextSequence()
}
