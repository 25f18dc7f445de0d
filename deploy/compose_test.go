package deploy

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

const (
	devFile  = "docker-compose.yml"
	prodFile = "docker-compose.prod.yml"
)

// prodEnv sets every variable the production override requires, each to a
// value found nowhere in the files.
var prodEnv = map[string]string{
	"POSTGRES_PASSWORD":     "prod-postgres-pw",
	"SPLUNK_PASSWORD":       "prod-splunk-pw",
	"SPLUNK_HEC_TOKEN":      "11111111-2222-3333-4444-555555555555",
	"AGENTSCOPE_TOKEN":      "prod-instance-token-0123456789",
	"AGENTSCOPE_SECRET_KEY": "prod-secret-key",
	"SPLUNK_CA_FILE":        "/etc/agentscope/splunk-ca.pem",
}

// devDefaults are the development defaults in docker-compose.yml; none may
// reach a production service.
var devDefaults = []string{"change-me-please", "00000000-0000-0000-0000-000000000001", "agentscope:agentscope@"}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func load(t *testing.T, env map[string]string, files ...string) (*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	var paths, envList []string
	for _, f := range files {
		paths = append(paths, filepath.Join(root, f))
	}
	for k, v := range env {
		envList = append(envList, k+"="+v)
	}
	opts, err := cli.NewProjectOptions(paths,
		cli.WithWorkingDirectory(root),
		cli.WithEnv(envList),
		cli.WithDiscardEnvFile,
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return opts.LoadProject(ctx)
}

func mustLoad(t *testing.T, env map[string]string, files ...string) *types.Project {
	t.Helper()
	p, err := load(t, env, files...)
	if err != nil {
		t.Fatalf("load %v: %v", files, err)
	}
	return p
}

// oneShot reports whether a service is meant to run to completion.
func oneShot(s types.ServiceConfig) bool { return s.Restart == "no" }

// finalStageUser returns the USER of the Dockerfile's last stage ("" when
// it sets none, which means root).
func finalStageUser(t *testing.T) (user string, healthcheck bool) {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			user, healthcheck = "", false
		case "USER":
			if len(fields) > 1 {
				user = fields[1]
			}
		case "HEALTHCHECK":
			healthcheck = len(fields) > 1 && !strings.EqualFold(fields[1], "NONE")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return user, healthcheck
}

func isRoot(user string) bool {
	name, _, _ := strings.Cut(user, ":")
	return name == "" || name == "root" || name == "0"
}

func TestDockerfileFinalStage(t *testing.T) {
	user, hc := finalStageUser(t)
	if isRoot(user) {
		t.Errorf("the Dockerfile's final stage runs as %q (root); it needs a non-root USER", user)
	}
	if !hc {
		t.Error("the Dockerfile's final stage has no HEALTHCHECK")
	}
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "CGO_ENABLED=0") {
		t.Error("the Dockerfile does not build with CGO_ENABLED=0 (the final image has no libc)")
	}
}

// checkStack holds for the development file and for it with the override.
func checkStack(t *testing.T, p *types.Project) {
	t.Helper()
	for _, name := range []string{"postgres", "splunk", "splunk-setup", "agentscope", "worker"} {
		if _, err := p.GetService(name); err != nil {
			t.Errorf("service %s: %v", name, err)
		}
	}
	dockerfileUser, _ := finalStageUser(t)
	for name, s := range p.Services {
		// Every gate waits for what the dependency can promise: health of
		// a long-running service, success of a one-shot one.
		for dep, d := range s.DependsOn {
			ds, err := p.GetService(dep)
			if err != nil {
				t.Errorf("%s depends on %s: %v", name, dep, err)
				continue
			}
			want := types.ServiceConditionHealthy
			if oneShot(ds) {
				want = types.ServiceConditionCompletedSuccessfully
			}
			if d.Condition != want {
				t.Errorf("%s depends on %s with condition %q, want %q", name, dep, d.Condition, want)
			}
		}
		if !oneShot(s) {
			if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
				t.Errorf("long-running service %s has no healthcheck", name)
			}
			if s.Restart == "" {
				t.Errorf("long-running service %s has no restart policy", name)
			}
		}
		user := s.User
		if user == "" && s.Build != nil {
			user = dockerfileUser
		}
		if isRoot(user) {
			t.Errorf("service %s runs as root (user %q)", name, user)
		}
	}
	for _, name := range []string{"agentscope", "worker"} {
		s, err := p.GetService(name)
		if err != nil {
			continue
		}
		for dep, cond := range map[string]string{
			"postgres":     types.ServiceConditionHealthy,
			"splunk":       types.ServiceConditionHealthy,
			"splunk-setup": types.ServiceConditionCompletedSuccessfully,
		} {
			if d, ok := s.DependsOn[dep]; !ok || d.Condition != cond {
				t.Errorf("%s must wait for %s with %s (has %+v)", name, dep, cond, s.DependsOn[dep])
			}
		}
		for _, k := range []string{"AGENTSCOPE_DATABASE_URL", "AGENTSCOPE_SPLUNK_HEC_URL", "AGENTSCOPE_SPLUNK_HEC_TOKEN", "AGENTSCOPE_SPLUNK_INDEX"} {
			if v := s.Environment[k]; v == nil || *v == "" {
				t.Errorf("%s has no %s", name, k)
			}
		}
	}
	if setup, err := p.GetService("splunk-setup"); err == nil {
		if !oneShot(setup) {
			t.Errorf("splunk-setup must be one-shot (restart: \"no\"), has %q", setup.Restart)
		}
		if d := setup.DependsOn["splunk"]; d.Condition != types.ServiceConditionHealthy {
			t.Errorf("splunk-setup must wait for splunk to be healthy, has %+v", d)
		}
	}
	if splunk, err := p.GetService("splunk"); err == nil {
		if v := splunk.Environment["SPLUNK_START_ARGS"]; v == nil || !strings.Contains(*v, "--accept-license") {
			t.Error("splunk: SPLUNK_START_ARGS must accept the license (--accept-license)")
		}
		if v := splunk.Environment["SPLUNK_GENERAL_TERMS"]; v == nil || *v == "" {
			t.Error("splunk: SPLUNK_GENERAL_TERMS is required by the image")
		}
		if hc := splunk.HealthCheck; hc != nil && (hc.StartPeriod == nil || time.Duration(*hc.StartPeriod) < 5*time.Minute) {
			t.Error("splunk: the healthcheck's start_period must cover its cold start (5 minutes or more)")
		}
	}
}

func TestComposeDev(t *testing.T) {
	checkStack(t, mustLoad(t, nil, devFile))
}

func TestComposeProd(t *testing.T) {
	p := mustLoad(t, prodEnv, devFile, prodFile)
	checkStack(t, p)
	worker, err := p.GetService("worker")
	if err != nil {
		t.Fatal(err)
	}
	if worker.Deploy == nil || worker.Deploy.Replicas == nil || *worker.Deploy.Replicas < 2 {
		t.Error("prod: the worker is not scaled (deploy.replicas >= 2)")
	}
	// AGENTSCOPE_SPLUNK_CA_FILE and SPLUNK_CA_FILE name the mounted secret.
	for _, name := range []string{"agentscope", "worker", "splunk-setup"} {
		s, _ := p.GetService(name)
		mounted := false
		for _, sec := range s.Secrets {
			mounted = mounted || sec.Source == "splunk-ca"
		}
		if !mounted {
			t.Errorf("prod: %s does not mount the splunk-ca secret its CA file setting names", name)
		}
	}
	for name, s := range p.Services {
		if s.Deploy == nil || s.Deploy.Resources.Limits == nil ||
			s.Deploy.Resources.Limits.MemoryBytes == 0 || s.Deploy.Resources.Limits.NanoCPUs == 0 {
			t.Errorf("prod: service %s has no memory and CPU limits", name)
		}
		if !oneShot(s) && s.Restart != types.RestartPolicyAlways && s.Restart != types.RestartPolicyUnlessStopped {
			t.Errorf("prod: service %s restarts %q", name, s.Restart)
		}
		for k, v := range s.Environment {
			if v == nil {
				continue
			}
			for _, d := range devDefaults {
				if strings.Contains(*v, d) {
					t.Errorf("prod: service %s's %s carries the development default %q", name, k, d)
				}
			}
		}
	}
}

// TestComposeProdRequiresSecrets drops each required variable in turn: the
// override must refuse to load, naming it, rather than fall back to a default.
func TestComposeProdRequiresSecrets(t *testing.T) {
	for missing := range prodEnv {
		t.Run(missing, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range prodEnv {
				if k != missing {
					env[k] = v
				}
			}
			_, err := load(t, env, devFile, prodFile)
			if err == nil || !strings.Contains(err.Error(), missing) {
				t.Fatalf("loading without %s: err = %v, want an error naming it", missing, err)
			}
		})
	}
}

func TestSplunkSetupScript(t *testing.T) {
	script := filepath.Join(repoRoot(t), "scripts", "splunk-setup.sh")
	if out, err := exec.Command("sh", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("sh -n %s: %v\n%s", script, err, out)
	}
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck is not installed")
	}
	if out, err := exec.Command(sc, script).CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
}
