// Package grafanatest is a fake Grafana for the tests of flowmeter's dashboard
// push: an httptest server answering the part of Grafana's HTTP API that the push
// uses, with the paths, methods, bodies and status codes of Grafana's documented
// folder, data source and dashboard APIs, bearer-token auth with three tokens of
// the organisation roles Viewer, Editor and Admin, and 5xx answers a test can
// inject.
//
// What each role may do follows Grafana's organisation roles: a Viewer reads
// folders and dashboards; an Editor also creates folders and saves dashboards; only
// an Admin reads and creates data sources.
package grafanatest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// The tokens the fake accepts, one for each organisation role.
const (
	ViewerToken = "glsa_flowmeter_viewer"
	EditorToken = "glsa_flowmeter_editor"
	AdminToken  = "glsa_flowmeter_admin"
)

type role int

const (
	viewer role = iota + 1
	editor
	admin
)

// Request is one request the fake received, as it came.
type Request struct {
	Method, Path, Authorization string
	Body                        []byte
}

// Fault makes the fake answer Status (a 5xx, or any other code) instead of doing
// the request, for requests with this Method and Path and, when DashboardUID is
// set, a POST /api/dashboards/db body saving that dashboard. Times is how many
// requests it answers so; zero or less is every one. RetryAfter, when set, is sent
// as the Retry-After header.
type Fault struct {
	Method, Path, DashboardUID string
	Status, Times              int
	RetryAfter                 string

	left int // answers left; -1 is without end
}

// Folder is a folder as the fake holds it.
type Folder struct {
	ID        int    `json:"id"`
	UID       string `json:"uid"`
	Title     string `json:"title"`
	URL       string `json:"url"`
	Version   int    `json:"version"`
	CanSave   bool   `json:"canSave"`
	CanEdit   bool   `json:"canEdit"`
	CanAdmin  bool   `json:"canAdmin"`
	HasACL    bool   `json:"hasAcl"`
	ParentUID string `json:"parentUid,omitempty"`
	CreatedBy string `json:"createdBy"`
	UpdatedBy string `json:"updatedBy"`
	Created   string `json:"created"`
	Updated   string `json:"updated"`
}

// Datasource is a data source as the fake holds it.
type Datasource struct {
	ID             int               `json:"id"`
	OrgID          int               `json:"orgId"`
	UID            string            `json:"uid"`
	Name           string            `json:"name"`
	Type           string            `json:"type"`
	Access         string            `json:"access"`
	URL            string            `json:"url"`
	IsDefault      bool              `json:"isDefault"`
	JSONData       map[string]any    `json:"jsonData"`
	SecureJSONData map[string]string `json:"-"`
	ReadOnly       bool              `json:"readOnly"`
	Version        int               `json:"version"`
}

// Dashboard is a dashboard as the fake holds it: its model as last saved (with the
// id, uid and version Grafana sets), the folder it is in, and the commit message
// of its last save.
type Dashboard struct {
	ID        int
	UID       string
	FolderUID string
	Version   int
	Message   string
	Model     map[string]any
}

// Server is the fake Grafana. Its methods are safe to call while it serves.
type Server struct {
	*httptest.Server

	mu          sync.Mutex
	nextID      int
	folders     map[string]*Folder
	datasources map[string]*Datasource
	dashboards  map[string]*Dashboard
	faults      []*Fault
	requests    []Request
}

// New starts a fake Grafana that the test closes when it ends.
func New(t testing.TB) *Server {
	s := Start()
	t.Cleanup(s.Close)
	return s
}

// Start starts a fake Grafana that the caller closes.
func Start() *Server {
	s := &Server{
		folders:     map[string]*Folder{},
		datasources: map[string]*Datasource{},
		dashboards:  map[string]*Dashboard{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Inject adds a fault; faults are tried in the order added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.left = f.Times
	if f.left <= 0 {
		f.left = -1
	}
	s.faults = append(s.faults, &f)
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Folder returns the folder with uid, if there is one.
func (s *Server) Folder(uid string) (Folder, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.folders[uid]
	if !ok {
		return Folder{}, false
	}
	return *f, true
}

// Datasource returns the data source with uid, if there is one.
func (s *Server) Datasource(uid string) (Datasource, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.datasources[uid]
	if !ok {
		return Datasource{}, false
	}
	return *d, true
}

// Dashboard returns the dashboard with uid, if there is one.
func (s *Server) Dashboard(uid string) (Dashboard, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dashboards[uid]
	if !ok {
		return Dashboard{}, false
	}
	c := *d
	c.Model = clone(d.Model)
	return c, true
}

// AddDatasource stores a data source as if someone had made it by hand.
func (s *Server) AddDatasource(d Datasource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	d.ID, d.OrgID = s.nextID, 1
	s.datasources[d.UID] = &d
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var c map[string]any
	_ = json.Unmarshal(b, &c)
	return c
}

// message answers Grafana's error shape, {"message": ...} with an optional
// "status" naming the kind of failure.
func message(w http.ResponseWriter, code int, msg, status string) {
	body := map[string]any{"message": msg}
	if status != "" {
		body["status"] = status
	}
	answer(w, code, body)
}

func answer(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

var (
	folderPath     = regexp.MustCompile(`^/api/folders/([^/]+)$`)
	datasourcePath = regexp.MustCompile(`^/api/datasources/uid/([^/]+)$`)
	dashboardPath  = regexp.MustCompile(`^/api/dashboards/uid/([^/]+)$`)
	validUID       = regexp.MustCompile(`^[a-zA-Z0-9\-_]{1,40}$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Body: body})

	if f := s.fault(r, body); f != nil {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		message(w, f.Status, http.StatusText(f.Status), "")
		return
	}
	who, ok := authorize(r.Header.Get("Authorization"))
	if !ok {
		message(w, http.StatusUnauthorized, "Invalid API key", "")
		return
	}
	deny := func(action string) {
		answer(w, http.StatusForbidden, map[string]any{
			"accessErrorId": "ACE0000000001",
			"message":       "You'll need additional permissions to perform this action. Permissions needed: " + action,
			"title":         "Access denied",
		})
	}

	p := r.URL.Path
	switch {
	case p == "/api/folders" && r.Method == http.MethodGet:
		list := []map[string]any{}
		for _, f := range s.folders {
			list = append(list, map[string]any{"id": f.ID, "uid": f.UID, "title": f.Title})
		}
		answer(w, http.StatusOK, list)
	case p == "/api/folders" && r.Method == http.MethodPost:
		if who < editor {
			deny("folders:create")
			return
		}
		var in struct{ UID, Title string }
		if err := json.Unmarshal(body, &in); err != nil || in.Title == "" {
			message(w, http.StatusBadRequest, "folder title cannot be empty", "")
			return
		}
		if in.UID != "" && !validUID.MatchString(in.UID) {
			message(w, http.StatusBadRequest, "uid contains illegal characters", "")
			return
		}
		if _, ok := s.folders[in.UID]; ok {
			message(w, http.StatusConflict, "a folder with the same uid already exists", "")
			return
		}
		for _, f := range s.folders {
			if strings.EqualFold(f.Title, in.Title) {
				message(w, http.StatusConflict, "a folder or dashboard in the general folder with the same name already exists", "")
				return
			}
		}
		s.nextID++
		f := &Folder{ID: s.nextID, UID: in.UID, Title: in.Title, URL: "/dashboards/f/" + in.UID + "/" + slug(in.Title),
			Version: 1, CanSave: true, CanEdit: true, CanAdmin: who == admin, CreatedBy: "sa-flowmeter", UpdatedBy: "sa-flowmeter"}
		s.folders[in.UID] = f
		answer(w, http.StatusOK, f)
	case folderPath.MatchString(p) && r.Method == http.MethodGet:
		f, ok := s.folders[folderPath.FindStringSubmatch(p)[1]]
		if !ok {
			message(w, http.StatusNotFound, "folder not found", "not-found")
			return
		}
		answer(w, http.StatusOK, f)
	case datasourcePath.MatchString(p) && r.Method == http.MethodGet:
		if who < admin {
			deny("datasources:read")
			return
		}
		d, ok := s.datasources[datasourcePath.FindStringSubmatch(p)[1]]
		if !ok {
			message(w, http.StatusNotFound, "Data source not found", "")
			return
		}
		answer(w, http.StatusOK, d)
	case p == "/api/datasources" && r.Method == http.MethodPost:
		if who < admin {
			deny("datasources:create")
			return
		}
		var in Datasource
		var secure struct {
			SecureJSONData map[string]string `json:"secureJsonData"`
		}
		if json.Unmarshal(body, &in) != nil || json.Unmarshal(body, &secure) != nil || in.Name == "" || in.Type == "" {
			message(w, http.StatusBadRequest, "bad request data", "")
			return
		}
		for _, d := range s.datasources {
			if d.Name == in.Name {
				message(w, http.StatusConflict, "data source with the same name already exists", "")
				return
			}
			if in.UID != "" && d.UID == in.UID {
				message(w, http.StatusConflict, "data source with the same uid already exists", "")
				return
			}
		}
		s.nextID++
		in.ID, in.OrgID, in.Version, in.SecureJSONData = s.nextID, 1, 1, secure.SecureJSONData
		if in.JSONData == nil {
			in.JSONData = map[string]any{}
		}
		s.datasources[in.UID] = &in
		answer(w, http.StatusOK, map[string]any{"datasource": in, "id": in.ID, "message": "Datasource added", "name": in.Name})
	case dashboardPath.MatchString(p) && r.Method == http.MethodGet:
		d, ok := s.dashboards[dashboardPath.FindStringSubmatch(p)[1]]
		if !ok {
			message(w, http.StatusNotFound, "Dashboard not found", "not-found")
			return
		}
		meta := map[string]any{"type": "db", "canSave": who >= editor, "canEdit": who >= editor, "canStar": true,
			"slug": slug(fmt.Sprint(d.Model["title"])), "url": "/d/" + d.UID + "/" + slug(fmt.Sprint(d.Model["title"])),
			"version": d.Version, "folderUid": d.FolderUID, "folderId": 0, "provisioned": false}
		if f, ok := s.folders[d.FolderUID]; ok {
			meta["folderId"], meta["folderTitle"], meta["folderUrl"] = f.ID, f.Title, f.URL
		}
		answer(w, http.StatusOK, map[string]any{"dashboard": d.Model, "meta": meta})
	case p == "/api/dashboards/db" && r.Method == http.MethodPost:
		if who < editor {
			deny("dashboards:create")
			return
		}
		s.saveDashboard(w, body)
	default:
		message(w, http.StatusNotFound, "Not found", "")
	}
}

func (s *Server) saveDashboard(w http.ResponseWriter, body []byte) {
	var in struct {
		Dashboard map[string]any `json:"dashboard"`
		FolderUID string         `json:"folderUid"`
		FolderID  *int           `json:"folderId"`
		Overwrite bool           `json:"overwrite"`
		Message   string         `json:"message"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Dashboard == nil {
		message(w, http.StatusBadRequest, "bad request data", "")
		return
	}
	title, _ := in.Dashboard["title"].(string)
	if strings.TrimSpace(title) == "" {
		message(w, http.StatusBadRequest, "Dashboard title cannot be empty", "empty-name")
		return
	}
	uid, _ := in.Dashboard["uid"].(string)
	if uid == "" {
		s.nextID++
		uid = fmt.Sprintf("gen%d", s.nextID)
	}
	if !validUID.MatchString(uid) {
		message(w, http.StatusBadRequest, "uid contains illegal characters", "")
		return
	}
	folderUID := in.FolderUID
	if folderUID == "" && in.FolderID != nil && *in.FolderID != 0 {
		for _, f := range s.folders {
			if f.ID == *in.FolderID {
				folderUID = f.UID
			}
		}
		if folderUID == "" {
			message(w, http.StatusBadRequest, "folder not found", "not-found")
			return
		}
	}
	if folderUID != "" {
		if _, ok := s.folders[folderUID]; !ok {
			message(w, http.StatusBadRequest, "folder not found", "not-found")
			return
		}
	}
	old, exists := s.dashboards[uid]
	if !in.Overwrite {
		if exists {
			sent, _ := in.Dashboard["version"].(float64)
			if int(sent) != old.Version {
				message(w, http.StatusPreconditionFailed, "The dashboard has been changed by someone else", "version-mismatch")
				return
			}
		}
		for _, d := range s.dashboards {
			if d.UID != uid && d.FolderUID == folderUID && strings.EqualFold(fmt.Sprint(d.Model["title"]), title) {
				message(w, http.StatusPreconditionFailed, "A dashboard with the same name in the folder already exists", "name-exists")
				return
			}
		}
	}
	d := &Dashboard{UID: uid, FolderUID: folderUID, Version: 1, Message: in.Message, Model: clone(in.Dashboard)}
	if exists {
		d.ID, d.Version = old.ID, old.Version+1
	} else {
		s.nextID++
		d.ID = s.nextID
	}
	d.Model["id"], d.Model["uid"], d.Model["version"] = d.ID, uid, d.Version
	s.dashboards[uid] = d
	answer(w, http.StatusOK, map[string]any{"id": d.ID, "uid": uid, "url": "/d/" + uid + "/" + slug(title),
		"status": "success", "version": d.Version, "slug": slug(title)})
}

// fault returns the first live fault matching r, counting the answer, or nil.
func (s *Server) fault(r *http.Request, body []byte) *Fault {
	for _, f := range s.faults {
		if f.left == 0 || f.Method != r.Method || f.Path != r.URL.Path {
			continue
		}
		if f.DashboardUID != "" {
			var in struct {
				Dashboard struct{ UID string } `json:"dashboard"`
			}
			if json.Unmarshal(body, &in) != nil || in.Dashboard.UID != f.DashboardUID {
				continue
			}
		}
		if f.left > 0 {
			f.left--
		}
		return f
	}
	return nil
}

func authorize(h string) (role, bool) {
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return 0, false
	}
	switch token {
	case ViewerToken:
		return viewer, true
	case EditorToken:
		return editor, true
	case AdminToken:
		return admin, true
	}
	return 0, false
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

func slug(title string) string {
	return strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(title), "-"), "-")
}
