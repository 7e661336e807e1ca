package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// Postgres is a running throwaway PostgreSQL server.
type Postgres struct {
	dir  string // owns data/ and the socket
	cmd  *exec.Cmd
	done chan error
}

// binDir finds the PostgreSQL server binaries: $SWITCHBOARD_PG_BIN, else
// the newest /usr/lib/postgresql/*/bin holding initdb and postgres.
func binDir() (string, error) {
	if d := os.Getenv("SWITCHBOARD_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: install the Debian package postgresql (apt-get install postgresql) or set SWITCHBOARD_PG_BIN")
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// StartPostgres initialises a database cluster in a new temporary
// directory and starts a server on it that listens only on a unix socket
// in that directory (no TCP). As root it runs the server as the "postgres"
// OS user, because PostgreSQL refuses to run as root. The server is
// stopped and the directory removed when tb ends, pass or fail.
//
// Without the binaries it skips tb, unless CI=true or
// SWITCHBOARD_REQUIRE_POSTGRES=1, when it fails tb.
func StartPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	bin, err := binDir()
	if err != nil {
		if required() {
			tb.Fatalf("PostgreSQL is required (CI=true or SWITCHBOARD_REQUIRE_POSTGRES=1): %v", err)
		}
		tb.Skipf("skipping the PostgreSQL backend: %v", err)
	}
	cred, err := serverCredential()
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "sb-idco-pg-")
	if err != nil {
		tb.Fatalf("create postgres temp dir: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			tb.Fatalf("hand %s to the postgres user: %v", dir, err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		tb.Fatalf("initdb %s: %v\n%s", data, err, out)
	}
	p := &Postgres{dir: dir, done: make(chan error, 1)}
	var logBuf bytes.Buffer
	p.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-p", "5432",
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200")
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	p.cmd.Stdout, p.cmd.Stderr = &logBuf, &logBuf
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start postgres: %v", err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	tb.Cleanup(p.stop)
	if err := p.waitReady(30 * time.Second); err != nil {
		tb.Fatalf("postgres did not come up: %v\n%s", err, logBuf.String())
	}
	return p
}

// serverCredential returns the postgres user's credential when running as
// root, and nil (run as ourselves) otherwise.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("postgres refuses to run as root and there is no postgres OS user to run it as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// stop asks for a fast shutdown (SIGINT) and kills the server if it has
// not gone within ten seconds.
func (p *Postgres) stop() {
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// DSN returns the URL of database name on the server.
func (p *Postgres) DSN(name string) string {
	q := url.Values{"host": {p.dir}, "sslmode": {"disable"}}
	return "postgres://postgres@/" + name + "?" + q.Encode()
}

func (p *Postgres) waitReady(timeout time.Duration) error {
	db, err := sql.Open("pgx", p.DSN("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(timeout)
	for {
		select {
		case err := <-p.done:
			return fmt.Errorf("postgres exited: %v", err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond) // polling for readiness, not an assertion
	}
}

// NewDatabase creates a database with a unique name and returns its DSN.
func (p *Postgres) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := "idco_" + randomName()
	db, err := sql.Open("pgx", p.DSN("postgres"))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	return p.DSN(name)
}
