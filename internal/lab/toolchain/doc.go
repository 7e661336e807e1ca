// Package toolchain makes sure the host has what the local Kubernetes lab
// needs: Debian packages installed with apt, and pinned Go binaries
// (Kubernetes, etcd, Multus, CoreDNS, ...) built from the Go module proxy.
//
// Built binaries are cached outside the repository, under DefaultCacheDir
// ($SWITCHBOARD_CACHE, else ~/.cache/switchboard). Every Build owns one
// directory there:
//
//	<cache>/<name>-<version>/
//		bin/        the binaries, one per package, plus the stamp file
//		module/     the throwaway Go module they are built from
//		build.log   full output of the last go mod tidy / go build run
//		lock        flock(2) target serializing concurrent Ensure calls
//
// The package never touches the project's own go.mod: each Build renders
// its own module and runs the go command inside it.
package toolchain
