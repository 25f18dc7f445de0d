package deploy

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeSplunk answers the REST calls scripts/splunk-setup.sh makes as
// Splunk's management port does: 201 for a new entity, 409 for one that
// exists, 200 for an update of an entity by its path; every call must
// carry the admin's basic credentials.
type fakeSplunk struct {
	mu       sync.Mutex
	t        *testing.T
	password string
	entities map[string]url.Values // create path + "/" + name, or entity path
	hecOn    bool
	calls    []string
}

func (f *fakeSplunk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, p, ok := r.BasicAuth(); !ok || u != "admin" || p != f.password {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	path := r.URL.EscapedPath()
	if path == "/services/server/info" && r.Method == http.MethodGet {
		w.WriteHeader(http.StatusOK) // the script's wait for the port
		return
	}
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.calls = append(f.calls, path)
	creates := map[string]bool{
		"/services/data/indexes":                               true,
		"/servicesNS/nobody/splunk_httpinput/data/inputs/http": true,
		"/servicesNS/nobody/search/configs/conf-props":         true,
	}
	switch {
	case path == "/services/server/info":
		w.WriteHeader(http.StatusOK)
	case path == "/servicesNS/nobody/splunk_httpinput/data/inputs/http/http":
		f.hecOn = r.PostForm.Get("disabled") == "0"
		w.WriteHeader(http.StatusOK)
	case creates[path]:
		name := r.PostForm.Get("name")
		if name == "" {
			http.Error(w, "name is required", http.StatusBadRequest)
			return
		}
		key := path + "/" + strings.ReplaceAll(url.PathEscape(name), ":", "%3A") // as Splunk addresses it
		if _, ok := f.entities[key]; ok {
			http.Error(w, "already exists", http.StatusConflict)
			return
		}
		f.entities[key] = r.PostForm
		w.WriteHeader(http.StatusCreated)
	default:
		old, ok := f.entities[path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.PostForm.Has("name") {
			http.Error(w, "an update may not set name", http.StatusBadRequest)
			return
		}
		for k, v := range r.PostForm {
			old[k] = v
		}
		w.WriteHeader(http.StatusOK)
	}
}

// TestSplunkSetupScriptAgainstRESTAPI runs scripts/splunk-setup.sh (with
// curl, as the compose setup service does) against a fake of Splunk's
// management port, twice: the first run creates the index, turns HEC on,
// creates the HEC token and both sourcetypes; the second finds them and
// updates them (idempotent); the password is never on curl's command line.
func TestSplunkSetupScriptAgainstRESTAPI(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	const password, token = "s3cret-Adm1n-pw", "11111111-2222-3333-4444-555555555555"
	f := &fakeSplunk{t: t, password: password, entities: map[string]url.Values{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	script := filepath.Join(repoRoot(t), "scripts", "splunk-setup.sh")
	run := func() string {
		t.Helper()
		cmd := exec.Command("sh", script)
		cmd.Env = append(os.Environ(), "SPLUNK_PASSWORD="+password, "SPLUNK_HEC_TOKEN="+token, "SPLUNK_REST_URL="+srv.URL)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("splunk-setup.sh: %v\n%s", err, out)
		}
		return string(out)
	}
	first := run()
	for _, want := range []string{"created index agentscope", "created HEC token agentscope", "created sourcetype agentscope:events", "created sourcetype agentscope:audit", "splunk-setup: done"} {
		if !strings.Contains(first, want) {
			t.Errorf("first run lacks %q:\n%s", want, first)
		}
	}
	second := run()
	for _, want := range []string{"index agentscope exists", "HEC token agentscope exists, updated", "sourcetype agentscope:events exists, updated", "splunk-setup: done"} {
		if !strings.Contains(second, want) {
			t.Errorf("second run lacks %q:\n%s", want, second)
		}
	}
	if strings.Contains(first+second, password) {
		t.Error("the script printed the password")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.hecOn {
		t.Error("HEC was not turned on")
	}
	hec := f.entities["/servicesNS/nobody/splunk_httpinput/data/inputs/http/agentscope"]
	if hec.Get("token") != token || hec.Get("index") != "agentscope" || hec.Get("sourcetype") != "agentscope:events" {
		t.Errorf("HEC token input: %v", hec)
	}
	for _, st := range []string{"agentscope%3Aevents", "agentscope%3Aaudit"} {
		if p := f.entities["/servicesNS/nobody/search/configs/conf-props/"+st]; p.Get("KV_MODE") != "json" || p.Get("SHOULD_LINEMERGE") != "false" {
			t.Errorf("sourcetype %s: %v", st, p)
		}
	}
	if _, ok := f.entities["/services/data/indexes/agentscope"]; !ok {
		t.Error("the index was not created")
	}
}
