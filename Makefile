# Switchboard. `make demo` and `make test` do all the set-up they need:
# Debian packages, Go tools and the pinned Kubernetes, etcd, Multus and CoreDNS
# binaries (built from the Go module proxy once, cached in ~/.cache/switchboard).

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TOOLS := $(CURDIR)/bin/tools
LAB ?= sblab
STATICCHECK_VERSION := v0.7.0
CONTROLLER_GEN_VERSION := v0.19.0
E2E_TIMEOUT ?= 45m

export CGO_ENABLED ?= 0

.PHONY: all build images deps generate check-generated lint test test-unit test-e2e lab-up lab-down demo demo-down bench clean

all: build

## build: compile every binary under cmd/ into bin/, and bin/kubectl-switchboard
## (the kubectl plugin: a link to bin/switchboard; put bin/ on PATH for `kubectl switchboard`)
build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...
	ln -sfn switchboard $(BIN)/kubectl-switchboard

## images: write the components' image archives (operator, agent, edge, IDCO) to $(IMAGES),
## tagged $(IMAGE_REPO)/<component>:$(IMAGE_TAG); load them with ctr, kind or docker, push with crane
IMAGES ?= dist/images
IMAGE_REPO ?= switchboard.local
IMAGE_TAG ?= dev
images: build
	$(BIN)/switchboard images --bin $(BIN) --out $(IMAGES) --repository $(IMAGE_REPO) --tag $(IMAGE_TAG)

$(TOOLS)/controller-gen:
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)

## generate: regenerate committed generated code: deepcopy, CRDs, RBAC
generate: $(TOOLS)/controller-gen
	$(TOOLS)/controller-gen object paths=./api/... crd paths=./api/... output:crd:dir=config/crd
	$(TOOLS)/controller-gen rbac:roleName=switchboard-operator paths=./internal/operator/... paths=./internal/intercluster/... paths=./internal/admission/... paths=./internal/podgate/... output:rbac:dir=config/rbac/operator
	$(TOOLS)/controller-gen rbac:roleName=switchboard-agent paths=./internal/agent/... paths=./internal/bgp/... paths=./internal/clusternet/... output:rbac:dir=config/rbac/agent
	$(GO) generate ./...

## check-generated: fail if regenerating changes anything (or adds a file) under api/ and config/
check-generated: generate
	@test -z "$$(git status --porcelain -- api config)" || { git status --porcelain -- api config; git diff -- api config; \
		echo "generated code is stale: run 'make generate' and commit"; exit 1; }

$(TOOLS)/staticcheck:
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## lint: go vet and staticcheck, over every build tag in use
lint: $(TOOLS)/staticcheck
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/...
	$(TOOLS)/staticcheck ./...
	$(TOOLS)/staticcheck -tags e2e ./test/...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "not gofmt-ed"; exit 1; }

## deps: Debian packages and the lab's pinned binaries (built once, then cached)
deps: build
	$(BIN)/switchboard lab prepare

## test: every tier: lint, generated code, unit + kernel tests, end to end on the lab
test: lint check-generated deps test-unit test-e2e

## test-unit: unit tests, plus the kernel tier (root-only tests in throwaway namespaces)
test-unit:
	$(GO) test -count=1 ./...

## test-e2e: bring up a private lab (2 clusters x 2 nodes), run the e2e tests, tear it down; then
## the same on a lab whose primary network is Switchboard (1 cluster x 2 nodes) for the TestPrimary tests
test-e2e: build
	$(GO) test -count=1 -tags e2e -timeout $(E2E_TIMEOUT) -parallel 4 -v ./test/e2e/ -args -bin=$(BIN)
	$(GO) test -count=1 -tags e2e -timeout $(E2E_TIMEOUT) -v -run 'TestPrimary' ./test/e2e/ -args -bin=$(BIN) -primary=switchboard

## lab-up: bring up the lab (2 clusters x 2 nodes) named $(LAB)
lab-up: build
	$(BIN)/switchboard lab up --name $(LAB)

## lab-down: remove everything the lab made
lab-down:
	@if [ -x $(BIN)/switchboard ]; then $(BIN)/switchboard lab down --name $(LAB); \
	else $(GO) run ./cmd/switchboard lab down --name $(LAB); fi

## demo: bring up the lab, install Switchboard from config/, and play the demo, step by step
demo: lab-up
	$(BIN)/switchboard lab install --name $(LAB)
	$(BIN)/switchboard lab demo --name $(LAB)

## demo-down: tear the demo lab down
demo-down: lab-down

## bench: benchmarks, each against a peer in the same run (figures go to docs/benchmarks.md)
bench: build deps
	$(GO) test -count=1 -run '^$$' -bench . -skip 'PodInterface|Authorize|PortalPage' -benchtime 1x ./internal/...
	$(GO) test -count=1 -run '^$$' -bench PodInterface -benchtime 200x ./internal/dataplane/
	$(GO) test -count=1 -run '^$$' -bench Authorize -benchtime 2s ./internal/idco/
	$(GO) test -count=1 -run '^$$' -bench PortalPage -benchtime 200x ./internal/idco/portal/
	$(GO) test -count=1 -tags e2e -run '^$$' -bench . -benchtime 1x -timeout 90m ./test/e2e/ -args -bin=$(BIN)

clean:
	rm -rf $(BIN)
