// Package docker holds the container image definition. There is no Docker
// engine on the CI machines, so these tests prove what can be proven without
// one: the Dockerfile parses and passes BuildKit's own lint rules (the checks
// behind `docker build --check`), has the shape the deployment relies on, and
// the binary its build stage produces is static and carries its time-zone
// data, so the minimal final stage really is enough.
package docker

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/opencontainers/go-digest"
)

const dockerfilePath = "Dockerfile"

// minimalBases are the final-stage bases the deployment accepts: no shell,
// no package manager, nothing that needs patching but the binary itself.
var minimalBases = []string{"gcr.io/distroless/static", "scratch"}

func readDockerfile(t *testing.T) []byte {
	t.Helper()
	dt, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	return dt
}

// stages parses the Dockerfile the way BuildKit does, with every lint rule
// the instruction parser knows turned into an error.
func stages(t *testing.T, dt []byte) []instructions.Stage {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("parser warning: %s (line %d)", w.Short, w.Location.Start.Line)
	}
	lint := linter.New(&linter.Config{ExperimentalAll: true, ReturnAsError: true})
	st, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("instructions: %v", err)
	}
	if err := lint.Error(); err != nil {
		t.Fatalf("lint: %v", err)
	}
	return st
}

// lintOpt is the least DockerfileLint needs: a source map (with an empty
// definition: nothing is built) and an image resolver that stays offline.
func lintOpt(name string, dt []byte) dockerfile2llb.ConvertOpt {
	sm := llb.NewSourceMap(nil, name, "Dockerfile", dt)
	sm.Definition = &llb.Definition{}
	return dockerfile2llb.ConvertOpt{SourceMap: sm, MetaResolver: offlineResolver{}}
}

// offlineResolver answers BuildKit's base-image lookups without a registry:
// every base is an empty linux image of the build machine's architecture.
// The lint rules need only the platform; the CI machines may not reach any
// registry.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	cfg := []byte(`{"architecture":"` + runtime.GOARCH + `","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}`)
	return ref, digest.FromBytes(cfg), cfg, nil
}

// TestDockerfileLint runs BuildKit's full rule set (what `docker build
// --check` reports, experimental rules included) without an engine.
func TestDockerfileLint(t *testing.T) {
	// A check directive on a line of its own, in front: every rule,
	// experimental ones included (line numbers below are shifted back).
	dt := append([]byte("# check=experimental=all\n"), readDockerfile(t)...)
	res, err := dockerfile2llb.DockerfileLint(context.Background(), dt, lintOpt(dockerfilePath, dt))
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != nil {
		t.Fatalf("build error: %s", res.Error.Message)
	}
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line) - 1
		}
		t.Errorf("%s:%d: %s: %s (%s)", dockerfilePath, line, w.RuleName, w.Detail, w.URL)
	}
}

// TestDockerfileLintCatches proves the lint test can fail: a Dockerfile with
// known mistakes must produce the matching rule names.
func TestDockerfileLintCatches(t *testing.T) {
	bad := []byte("from golang:1.26 as Build\nRUN go build\nFROM scratch\nENV A 1\nCMD /app\n")
	res, err := dockerfile2llb.DockerfileLint(context.Background(), bad, lintOpt("bad", bad))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range res.Warnings {
		got = append(got, w.RuleName)
	}
	for _, want := range []string{"ConsistentInstructionCasing", "StageNameCasing", "LegacyKeyValueFormat", "JSONArgsRecommended"} {
		if !slices.Contains(got, want) {
			t.Errorf("lint of a bad Dockerfile did not report %s (got %v)", want, got)
		}
	}
}

// TestDockerfileShape checks the properties docs/deploy.md promises.
func TestDockerfileShape(t *testing.T) {
	st := stages(t, readDockerfile(t))
	if len(st) < 2 {
		t.Fatalf("%d stage(s), want a multi-stage build (toolchain stays out of the image)", len(st))
	}
	build, final := st[0], st[len(st)-1]

	if !slices.ContainsFunc(minimalBases, func(b string) bool {
		return final.BaseName == b || strings.HasPrefix(final.BaseName, b+"-") || strings.HasPrefix(final.BaseName, b+":")
	}) {
		t.Errorf("final stage FROM %q, want one of %v", final.BaseName, minimalBases)
	}

	var (
		user, entrypoint, workdir string
		health                    []string
		labels                    = map[string]string{}
		copiedFromBuild           bool
	)
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.HealthCheckCommand:
			health = c.Health.Test
		case *instructions.LabelCommand:
			for _, kv := range c.Labels {
				labels[kv.Key] = strings.Trim(kv.Value, `"`) // unexpanded, as written
			}
		case *instructions.CopyCommand:
			if c.From == build.Name && slices.Contains(c.SourcePaths, "/out/pointsbook") {
				copiedFromBuild = true
			}
		case *instructions.EntrypointCommand:
			entrypoint = strings.Join(c.CmdLine, " ")
		case *instructions.WorkdirCommand:
			workdir = c.Path
		case *instructions.RunCommand:
			t.Errorf("final stage runs %q: a minimal base has no shell", c.CmdLine)
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if uid == "" || uid == "0" || uid == "root" {
		t.Errorf("final stage USER %q, want a non-root user", user)
	}
	if !copiedFromBuild {
		t.Errorf("final stage does not COPY --from=%s /out/pointsbook", build.Name)
	}
	if entrypoint != "/pointsbook" {
		t.Errorf("ENTRYPOINT %q, want /pointsbook", entrypoint)
	}
	if workdir == "" {
		t.Error("final stage has no WORKDIR")
	}
	// Exec form: distroless has no /bin/sh for CMD-SHELL.
	if want := []string{"CMD", "/pointsbook", "healthcheck"}; !slices.Equal(health, want) {
		t.Errorf("HEALTHCHECK test %q, want %q", health, want)
	}
	for _, k := range []string{"title", "description", "source", "url", "documentation", "version", "revision", "created", "licenses", "vendor", "base.name"} {
		if labels["org.opencontainers.image."+k] == "" {
			t.Errorf("OCI label org.opencontainers.image.%s missing or empty", k)
		}
	}
	if b := labels["org.opencontainers.image.base.name"]; b != final.BaseName {
		t.Errorf("label base.name %q differs from the final FROM %q", b, final.BaseName)
	}

	env, args := buildCommand(t, st)
	if !slices.Contains(env, "CGO_ENABLED=0") {
		t.Errorf("go build environment %q lacks CGO_ENABLED=0 (the binary must be static)", env)
	}
	for _, want := range []string{"-trimpath", "./cmd/pointsbook"} {
		if !slices.Contains(args, want) {
			t.Errorf("go build %q lacks %s", args, want)
		}
	}
}

// buildCommand returns the environment assignments and arguments of the
// `go build` in the build stage's RUN, so the binary test builds exactly
// what the image build does.
func buildCommand(t *testing.T, st []instructions.Stage) (env, args []string) {
	t.Helper()
	for _, c := range st[0].Commands {
		run, ok := c.(*instructions.RunCommand)
		if !ok {
			continue
		}
		words, err := shellWords(strings.Join(run.CmdLine, " "))
		if err != nil {
			t.Fatalf("RUN %q: %v", run.CmdLine, err)
		}
		i := slices.Index(words, "go")
		if i < 0 || i+1 >= len(words) || words[i+1] != "build" {
			continue
		}
		for _, w := range words[:i] {
			if k, _, ok := strings.Cut(w, "="); ok && k != "" && strings.ToUpper(k) == k {
				env = append(env, w)
			}
		}
		end := slices.Index(words[i:], "&&")
		if end < 0 {
			end = len(words) - i
		}
		return env, words[i+2 : i+end]
	}
	t.Fatal("no RUN with `go build` in the first stage")
	return nil, nil
}

// shellWords splits a POSIX shell command line into words: enough of the
// shell (blanks, single and double quotes, backslash-newline) for a RUN line.
func shellWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
		quote rune
	)
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\\':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

func TestShellWords(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"a b", []string{"a", "b"}},
		{"CGO_ENABLED=0 go build -ldflags='-s -w' -o /x ./y", []string{"CGO_ENABLED=0", "go", "build", "-ldflags=-s -w", "-o", "/x", "./y"}},
		{`a "b c" ''`, []string{"a", "b c", ""}},
		{"a \\\n  b", []string{"a", "b"}},
	} {
		got, err := shellWords(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("shellWords(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := shellWords("a 'b"); err == nil {
		t.Error("unterminated quote accepted")
	}
}

func FuzzShellWords(f *testing.F) {
	f.Add("CGO_ENABLED=0 go build -ldflags='-s -w' ./cmd/x")
	f.Add(`"a'b" 'c"d'`)
	f.Fuzz(func(t *testing.T, s string) {
		words, err := shellWords(s)
		if err != nil {
			return
		}
		if !strings.ContainsAny(s, `'"`) {
			// Without quotes, words are exactly the blank-separated fields.
			want := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(" \t\n\\", r) })
			if !slices.Equal(words, want) {
				t.Errorf("shellWords(%q) = %q, want %q", s, words, want)
			}
		}
	})
}

// TestStaticBinary builds the binary with the Dockerfile's own `go build`
// line and proves the final stage needs nothing else: no ELF interpreter, no
// shared libraries, and the time-zone database inside (it runs in an empty
// root directory where neither /usr/share/zoneinfo nor ZONEINFO exists).
func TestStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; not in -short")
	}
	env, args := buildCommand(t, stages(t, readDockerfile(t)))
	root := t.TempDir()
	bin := filepath.Join(root, "pointsbook")
	for i, a := range args {
		if a == "/out/pointsbook" {
			args[i] = bin
		}
	}
	for i, e := range env {
		env[i] = strings.NewReplacer("${TARGETOS:-linux}", "linux", "${TARGETARCH}", runtime.GOARCH).Replace(e)
	}
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	// The repository root is the image's build context and WORKDIR, and its
	// go.mod (not this module's) decides the binary's dependency versions.
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %q: %v\n%s", args, err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary has a PT_INTERP program header: it is dynamically linked")
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) > 0 {
		t.Errorf("binary needs shared libraries %v", libs)
	}
	if fi, err := os.Stat(bin); err == nil {
		t.Logf("binary: %.1f MiB (%d bytes)", float64(fi.Size())/(1<<20), fi.Size())
	}

	// The empty root: only the binary. Start-up loads Asia/Seoul (the feed
	// polls KST days) and panics without time-zone data.
	run := exec.Command("/pointsbook", "config")
	run.Dir = "/"
	run.Env = []string{"ZONEINFO=/nonexistent", "PB_FEED=none"}
	run.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	if os.Geteuid() != 0 {
		// Unprivileged: chroot inside a user namespace where we are root.
		run.SysProcAttr.Cloneflags = syscall.CLONE_NEWUSER
		run.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		run.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("pointsbook config in an empty root: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "PB_FEED") {
		t.Errorf("pointsbook config printed no configuration:\n%s", out)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Errorf("the empty root gained files: %v", entries)
	}
}
