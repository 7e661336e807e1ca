package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SQLite's WAL is copied into the database file by checkpoints, which
// fsync both files. Run by the committing connection (SQLite's default,
// every 1,000 pages), a checkpoint stalled whichever transaction crossed
// the mark, and with it every decision of its batch: on this project's
// test machine that halved decisions/s and set the p99. So a checkpointer
// runs them from its own connection, in the background, while the IDCO's
// connection checkpoints only past walSafetyPages, should the checkpointer
// fall behind.
const (
	checkpointEvery = time.Second
	walSafetyPages  = 20000 // about 80 MB of WAL
)

// checkpointer runs PASSIVE checkpoints every checkpointEvery until
// stopped. A passive checkpoint waits for no reader or writer.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
}

func startCheckpointer(ctx context.Context, conn string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", conn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite checkpoint connection: %w", err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite checkpoint connection: %w", err)
	}
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			// An error (say the disk is full) leaves the WAL to grow
			// until the IDCO's own connection checkpoints it, which
			// then reports the error on a commit.
			c.db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}

func (c *checkpointer) close() {
	close(c.stop)
	<-c.done
	c.db.Close()
}
