package ledger

import (
	"crypto/rand"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Secret returns the random secret called name kept in the store, making
// it (32 bytes) on first use. The daemon signs reply tokens with it when no
// secret is configured, so tokens stay valid across restarts. A backup of
// the store carries it: keep backups as private as the store.
func (s *Store) Secret(name string) ([]byte, error) {
	key := []byte("secret." + name)
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(key); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	if err != nil || out != nil {
		return out, err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(key); v != nil {
			out = append([]byte(nil), v...)
			return nil
		}
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("make secret %s: %w", name, err)
		}
		out = b
		return meta.Put(key, b)
	})
	return out, err
}
