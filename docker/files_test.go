package docker

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	composecli "github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// repoRoot is where the build context of every image starts.
const repoRoot = ".."

// The Dockerfiles, each with the default COMPUTE_MODE it is meant to build.
var dockerfiles = map[string]string{
	"Dockerfile":                 "cuda",
	"docker/Dockerfile":          "cuda",
	"docker/Dockerfile.amd":      "rocm",
	"docker/Dockerfile.flexible": "cpu",
}

// The compose files, each with the GPU vendor it is for ("" for none).
var composeFiles = map[string]string{
	"docker-compose.yml":            "nvidia",
	"docker/docker-compose.yml":     "nvidia",
	"docker/docker-compose.amd.yml": "amd",
	"docker/docker-compose.cpu.yml": "",
}

// Build arguments Docker defines itself, usable without an ARG line.
var predefinedArgs = []string{"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY",
	"http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "all_proxy"}

// Variables the container's runtime environment may carry that are not the
// server's own flags: proxies (net/http reads them), and the GPU runtimes'.
var runtimeVars = append([]string{"CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES",
	"NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES", "ROCBLAS_TENSILE_LIBPATH", "COMPUTE_MODE"}, predefinedArgs...)

// serverEnvVars are the environment variables the server reads: every
// upper-case string literal in the code that defines its flags.
func serverEnvVars(t *testing.T) []string {
	t.Helper()
	literal := regexp.MustCompile(`"([A-Z][A-Z0-9_]{2,})"`)
	var names []string
	for _, dir := range []string{"cmd/rerank-api", "envconfig", "hub"} {
		files, _ := filepath.Glob(filepath.Join(repoRoot, dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range literal.FindAllStringSubmatch(string(src), -1) {
				names = append(names, m[1])
			}
		}
	}
	for _, must := range []string{"HOST", "PORT", "RERANKER_MODELS_DIR"} {
		if !slices.Contains(names, must) {
			t.Fatalf("found no %s among the server's environment variables (%v): has flag parsing moved?", must, names)
		}
	}
	return names
}

func parseDockerfile(t *testing.T, path string) ([]instructions.Stage, []instructions.ArgCommand) {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, w := range res.Warnings {
		t.Errorf("%s: %s", path, w.Short)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return stages, metaArgs
}

var varRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// refs lists the variables a string expands.
func refs(s string) []string {
	var out []string
	for _, m := range varRef.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

func argNames(args []instructions.ArgCommand) []string {
	var out []string
	for _, a := range args {
		for _, kv := range a.Args {
			out = append(out, kv.Key)
		}
	}
	return out
}

func TestDockerfiles(t *testing.T) {
	flexible, err := os.ReadFile(filepath.Join(repoRoot, "docker/Dockerfile.flexible"))
	if err != nil {
		t.Fatal(err)
	}
	ignore := dockerignore(t)
	targets := makeTargets(t)
	serverVars := serverEnvVars(t)
	for path, mode := range dockerfiles {
		t.Run(path, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(repoRoot, path))
			if err != nil {
				t.Fatal(err)
			}
			// One file in four places: only the default compute mode differs.
			want := strings.Replace(string(flexible), "ARG COMPUTE_MODE=cpu\n", "ARG COMPUTE_MODE="+mode+"\n", 1)
			if string(src) != want {
				t.Errorf("%s differs from docker/Dockerfile.flexible by more than `ARG COMPUTE_MODE=%s`: edit the flexible file and copy it", path, mode)
			}

			stages, metaArgs := parseDockerfile(t, path)
			meta := argNames(metaArgs)
			if !slices.Contains(meta, "COMPUTE_MODE") {
				t.Fatal("no global ARG COMPUTE_MODE")
			}
			byName := map[string]instructions.Stage{}
			stageEnv := map[string][]string{} // stage name → the ENV names it has, its parents' included
			for i, st := range stages {
				// Every FROM is an ARG (a local base can replace it) or an earlier stage.
				for _, v := range refs(st.BaseName) {
					if !slices.Contains(meta, v) {
						t.Errorf("stage %d: FROM %s uses %s, which is no global ARG", i, st.BaseName, v)
					}
				}
				parent := strings.ReplaceAll(st.BaseName, "${COMPUTE_MODE}", mode)
				if _, ok := byName[parent]; !ok && !strings.Contains(parent, "$") {
					t.Errorf("stage %d: FROM %s is neither an ARG nor an earlier stage: a local base cannot replace it", i, st.BaseName)
				}
				// A stage sees its parent stage's ENV, not its ARGs.
				inherited := stageEnv[parent]
				visible := slices.Clone(inherited)
				var envs []string
				for _, cmd := range st.Commands {
					switch c := cmd.(type) {
					case *instructions.ArgCommand:
						visible = append(visible, argNames([]instructions.ArgCommand{*c})...)
					case *instructions.EnvCommand:
						for _, kv := range c.Env {
							checkRefs(t, i, "ENV "+kv.Key, kv.Value, visible)
							visible = append(visible, kv.Key)
							envs = append(envs, kv.Key)
						}
					case *instructions.RunCommand:
						checkRefs(t, i, "RUN", strings.Join(c.CmdLine, " "), visible)
						if strings.Contains(strings.Join(c.CmdLine, " "), "make ${MAKE_TARGET}") {
							for _, tgt := range []string{"dist", "cuda", "rocm"} {
								if !slices.Contains(targets, tgt) {
									t.Errorf("the build runs `make %s`, which the Makefile does not define", tgt)
								}
							}
						}
					case *instructions.CopyCommand:
						if c.From == "" {
							for _, s := range c.SourcePaths {
								checkSource(t, s, ignore)
							}
						} else if _, ok := byName[c.From]; !ok {
							t.Errorf("COPY --from=%s names no earlier stage", c.From)
						}
					case *instructions.AddCommand:
						t.Errorf("ADD %v: use COPY (ADD fetches URLs and unpacks archives)", c.SourcePaths)
					case *instructions.WorkdirCommand:
						checkRefs(t, i, "WORKDIR", c.Path, visible)
					}
				}
				stageEnv[st.Name] = append(slices.Clone(inherited), envs...)
				if st.Name != "" {
					byName[st.Name] = st
				}
			}
			checkRuntimeStage(t, stages[len(stages)-1], serverVars)
		})
	}
}

// predefined names that a shell in the build images always has.
var shellVars = []string{"PATH", "HOME"}

func checkRefs(t *testing.T, stage int, where, s string, visible []string) {
	t.Helper()
	for _, v := range refs(s) {
		if !slices.Contains(visible, v) && !slices.Contains(predefinedArgs, v) && !slices.Contains(shellVars, v) {
			t.Errorf("stage %d: %s uses $%s, declared by no ARG or ENV of that stage", stage, where, v)
		}
	}
}

func checkSource(t *testing.T, src string, ignore *patternmatcher.PatternMatcher) {
	t.Helper()
	clean := filepath.Clean(strings.TrimPrefix(src, "/"))
	if _, err := os.Stat(filepath.Join(repoRoot, clean)); err != nil {
		t.Errorf("COPY %s: not in the build context: %v", src, err)
		return
	}
	if clean == "." {
		return
	}
	if excluded, _ := ignore.MatchesOrParentMatches(clean); excluded {
		t.Errorf("COPY %s: .dockerignore excludes it", src)
	}
}

func checkRuntimeStage(t *testing.T, st instructions.Stage, serverVars []string) {
	t.Helper()
	var sawUser, sawHealth, sawVolume, sawPort bool
	for _, cmd := range st.Commands {
		switch c := cmd.(type) {
		case *instructions.UserCommand:
			sawUser = c.User != "root" && c.User != "0"
		case *instructions.HealthCheckCommand:
			sawHealth = strings.Contains(strings.Join(c.Health.Test, " "), "/health")
		case *instructions.VolumeCommand:
			sawVolume = slices.Contains(c.Volumes, "/app/models")
		case *instructions.ExposeCommand:
			sawPort = slices.Contains(c.Ports, "7987")
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				if !slices.Contains(serverVars, kv.Key) && !slices.Contains(runtimeVars, kv.Key) {
					t.Errorf("the image sets %s, which is none of the server's environment variables", kv.Key)
				}
				if kv.Key == "RERANKER_MODELS_DIR" && kv.Value != "/app/models" {
					t.Errorf("RERANKER_MODELS_DIR=%s, not the volume /app/models", kv.Value)
				}
				if kv.Key == "PORT" && kv.Value != "7987" {
					t.Errorf("PORT=%s, not 7987", kv.Value)
				}
			}
		}
	}
	if !sawUser {
		t.Error("the final stage runs as root: it needs a USER")
	}
	if !sawHealth {
		t.Error("the final stage has no HEALTHCHECK on /health")
	}
	if !sawVolume {
		t.Error("the final stage declares no VOLUME /app/models")
	}
	if !sawPort {
		t.Error("the final stage does not EXPOSE 7987")
	}
}

func dockerignore(t *testing.T) *patternmatcher.PatternMatcher {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	for _, keep := range []string{"go.mod", "Makefile", "scripts/build-ggml.sh", "models.yaml"} {
		if excluded, _ := pm.MatchesOrParentMatches(keep); excluded {
			t.Errorf(".dockerignore excludes %s, which the build needs", keep)
		}
	}
	return pm
}

// makeTargets lists the Makefile's rule names.
func makeTargets(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`).FindAllStringSubmatch(string(src), -1) {
		out = append(out, m[1])
	}
	return out
}

func TestComposeFiles(t *testing.T) {
	serverVars := serverEnvVars(t)
	for path, vendor := range composeFiles {
		t.Run(path, func(t *testing.T) {
			file := filepath.Join(repoRoot, path)
			// No environment from this machine: the files' own defaults apply.
			opts, err := composecli.NewProjectOptions([]string{file}, composecli.WithName("rerank-api"), composecli.WithEnv(nil))
			if err != nil {
				t.Fatal(err)
			}
			project, err := opts.LoadProject(context.Background())
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			svc, ok := project.Services["rerank-api"]
			if !ok {
				t.Fatalf("%s has no rerank-api service", path)
			}
			checkComposeBuild(t, svc)
			if !slices.ContainsFunc(svc.Ports, func(p types.ServicePortConfig) bool { return p.Target == 7987 }) {
				t.Errorf("container port 7987 is not published: %+v", svc.Ports)
			}
			for name := range svc.Environment {
				if !slices.Contains(serverVars, name) && !slices.Contains(runtimeVars, name) {
					t.Errorf("environment %s is none of the server's variables", name)
				}
			}
			if !slices.ContainsFunc(svc.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Target == "/app/models" }) {
				t.Error("no volume at /app/models: pulled models would not survive a restart")
			}

			var gpuReservations int
			if svc.Deploy != nil && svc.Deploy.Resources.Reservations != nil {
				for _, d := range svc.Deploy.Resources.Reservations.Devices {
					if d.Driver != "nvidia" || !slices.Contains(d.Capabilities, "gpu") {
						t.Errorf("device reservation %+v is not an NVIDIA GPU", d)
					}
					gpuReservations++
				}
			}
			devices := map[string]bool{}
			for _, d := range svc.Devices {
				devices[d.Source] = true
			}
			switch vendor {
			case "nvidia":
				if gpuReservations == 0 {
					t.Error("an NVIDIA compose file without deploy.resources.reservations.devices gets no GPU")
				}
				if len(devices) > 0 {
					t.Errorf("an NVIDIA service maps devices %v: the NVIDIA toolkit does that", devices)
				}
			case "amd":
				if !devices["/dev/kfd"] || !devices["/dev/dri"] {
					t.Errorf("an AMD service needs /dev/kfd and /dev/dri, has %v", devices)
				}
				for _, g := range []string{"video", "render"} {
					if !slices.Contains(svc.GroupAdd, g) {
						t.Errorf("an AMD service needs group %s", g)
					}
				}
			}
			if vendor != "nvidia" && gpuReservations > 0 {
				t.Error("an NVIDIA GPU reservation in a compose file that is not for NVIDIA hosts")
			}
			if vendor != "amd" && len(devices) > 0 {
				t.Errorf("devices %v mapped in a compose file that is not for AMD hosts", devices)
			}
		})
	}
}

func checkComposeBuild(t *testing.T, svc types.ServiceConfig) {
	t.Helper()
	if svc.Build == nil {
		t.Fatal("the service has no build section")
	}
	abs, _ := filepath.Abs(repoRoot)
	if svc.Build.Context != abs {
		t.Errorf("build context %s is not the repository root %s", svc.Build.Context, abs)
	}
	rel, err := filepath.Rel(abs, filepath.Join(svc.Build.Context, svc.Build.Dockerfile))
	if err != nil || dockerfiles[rel] == "" {
		t.Fatalf("build dockerfile %s is none of %v", svc.Build.Dockerfile, dockerfiles)
	}
	_, metaArgs := parseDockerfile(t, rel)
	declared := append(argNames(metaArgs), predefinedArgs...)
	for name := range svc.Build.Args {
		if !slices.Contains(declared, name) {
			t.Errorf("build arg %s is declared by no global ARG of %s", name, rel)
		}
	}
	if mode := svc.Build.Args["COMPUTE_MODE"]; mode != nil && *mode != "cpu" {
		t.Errorf("COMPUTE_MODE %s in a compose build", *mode)
	}
}
