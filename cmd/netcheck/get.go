package main

import (
	"context"
	"io"
	"net/http"
	"time"

	"switchboard/internal/netcheck"
)

const getDescription = `Fetch URL with HTTP GET and print the body to stdout. A URL without a
scheme gets "http://". Exits 1 on any error or a status outside 2xx.`

const defaultGetTimeout = 5 * time.Second

const getSynopsis = "get [--timeout 5s] URL"

func runGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(getSynopsis, getDescription, stderr)
	timeout := fs.Duration("timeout", defaultGetTimeout, "limit for the whole request, body included")
	if err := parseArgs(fs, args, 1); err != nil {
		return err
	}
	client := &http.Client{Timeout: *timeout}
	return netcheck.Get(ctx, client, fs.Arg(0), stdout)
}
