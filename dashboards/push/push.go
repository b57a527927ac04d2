// Package push puts flowmeter's Grafana dashboards, with the folder they live in
// and the datasources they query, into a running Grafana through its HTTP API,
// authenticating with a Grafana service-account token.
//
// A push is an upsert and may be run again at any time: the folder and each
// datasource are created when missing and otherwise left as they are (a datasource
// is never overwritten: its URL and credentials belong to whoever runs Grafana);
// each dashboard is saved into the folder, overwriting Grafana's copy, with the
// version message "provisioned by flowmeter", unless Grafana's copy is already the
// same, so that pushing on every start does not add a dashboard version each time.
//
// Every item gets a Result; a failed item does not stop the others, and Push's
// error names every item that failed. Grafana's refusals become *APIError values
// saying what to do: a refused token (401), a role too low for the request (403:
// Editor for folders and dashboards, Admin for datasources), a conflict (409, or
// 412 such as version-mismatch), a missing folder; a 5xx is tried again up to
// Retries times with backoff.
//
// The token needs the Admin role to create datasources; with the Editor role the
// folder and dashboards are pushed and each datasource is reported failed with a
// 403, which a push with an empty Plan.Datasources avoids.
package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"

	"github.com/grafana-tools/sdk"
)

// Message is the version message each dashboard is saved with, shown in
// Grafana's version history.
const Message = "provisioned by flowmeter"

// Dashboard is one dashboard to push: its UID, its title and its Grafana
// dashboard model as JSON. The model's "uid", when it has one, must equal UID; its
// "id" and "version" are ignored.
type Dashboard struct {
	UID, Title string
	JSON       []byte
}

// Datasource is one datasource the dashboards use, created when Grafana has none
// with its UID. Type is the plugin id (such as "prometheus" or
// "grafana-clickhouse-datasource"); Access is "proxy" when empty.
type Datasource struct {
	UID, Name, Type, URL, Access string
	JSONData                     map[string]any
	SecureJSONData               map[string]string
}

// Plan is what one push puts into Grafana. An empty FolderUID puts the dashboards
// at the root (Grafana's General folder); FolderTitle is used only when the
// folder is created.
type Plan struct {
	FolderUID, FolderTitle string
	Datasources            []Datasource
	Dashboards             []Dashboard
}

// The kinds of item a Result is about.
const (
	KindFolder     = "folder"
	KindDatasource = "datasource"
	KindDashboard  = "dashboard"
)

// The actions a Result reports.
const (
	Created   = "created"   // it was not in Grafana and now is
	Updated   = "updated"   // a dashboard Grafana had was replaced by flowmeter's
	Unchanged = "unchanged" // a dashboard Grafana had was already flowmeter's, in the folder
	Exists    = "exists"    // a folder or datasource was already there and was left alone
	Failed    = "failed"    // see Err
)

// Result is what happened to one item of a Plan.
type Result struct {
	Kind, UID, Title, Action string
	Err                      error
}

// Error is Push's error: the items that failed, in the order pushed.
type Error struct {
	Failed []Result
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Failed))
	for i, r := range e.Failed {
		parts[i] = fmt.Sprintf("%s %q: %v", r.Kind, r.UID, r.Err)
	}
	item := "items"
	if len(e.Failed) == 1 {
		item = "item"
	}
	return fmt.Sprintf("grafana push: %d %s failed: %s", len(e.Failed), item, strings.Join(parts, "; "))
}

// Unwrap returns each failed item's error, so errors.Is(err, ErrUnauthorized)
// and the like hold when any item failed so.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Failed))
	for i, r := range e.Failed {
		errs[i] = r.Err
	}
	return errs
}

// Grafana's rule for UIDs of folders, datasources and dashboards.
var validUID = regexp.MustCompile(`^[a-zA-Z0-9\-_]{1,40}$`)

// Push puts p into Grafana: the folder first, then the datasources, then the
// dashboards. It returns a Result for every item, in that order (the folder's only
// when p names one), and an *Error when any item failed. When the folder cannot be
// made ready the dashboards are not sent, and each is reported failed with the
// folder's error.
func Push(ctx context.Context, c *Client, p Plan) ([]Result, error) {
	var results []Result
	folderID, folderErr := 0, error(nil)
	if p.FolderUID != "" {
		r := c.folder(ctx, p.FolderUID, p.FolderTitle)
		results = append(results, r.Result)
		folderID, folderErr = r.id, r.Err
	}
	for _, d := range p.Datasources {
		results = append(results, c.datasource(ctx, d))
	}
	for _, d := range p.Dashboards {
		if folderErr != nil {
			results = append(results, Result{Kind: KindDashboard, UID: d.UID, Title: d.Title, Action: Failed,
				Err: &notSentError{folder: p.FolderUID, err: folderErr}})
			continue
		}
		results = append(results, c.dashboard(ctx, d, p.FolderUID, folderID))
	}
	var failed []Result
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r)
		}
	}
	if ctx.Err() != nil && len(failed) > 0 {
		return results, fmt.Errorf("grafana push stopped: %w (%w)", ctx.Err(), &Error{Failed: failed})
	}
	if len(failed) > 0 {
		return results, &Error{Failed: failed}
	}
	return results, nil
}

// notSentError is a dashboard's error when its folder failed: short, as the
// folder's own result says what went wrong, but wrapping that error.
type notSentError struct {
	folder string
	err    error
}

func (e *notSentError) Error() string {
	var api *APIError
	if errors.As(e.err, &api) {
		msg := fmt.Sprintf("not sent: folder %q is not ready: %v (%d %s)", e.folder, api.kind, api.Status, http.StatusText(api.Status))
		if api.hint != "" {
			msg += ": " + api.hint
		}
		return msg
	}
	return fmt.Sprintf("not sent: folder %q is not ready: %v", e.folder, e.err)
}

func (e *notSentError) Unwrap() error { return e.err }

type folderResult struct {
	Result
	id int
}

// folder makes sure the folder uid exists, creating it with title when missing.
// Both calls are the SDK's: GetFolderByUID and CreateFolder.
func (c *Client) folder(ctx context.Context, uid, title string) folderResult {
	if title == "" {
		title = uid
	}
	r := folderResult{Result: Result{Kind: KindFolder, UID: uid, Title: title}}
	fail := func(err error) folderResult {
		r.Action, r.Err = Failed, err
		return r
	}
	if !validUID.MatchString(uid) {
		return fail(fmt.Errorf("the folder UID %q is not a Grafana UID (1 to 40 letters, digits, '-' and '_')", uid))
	}
	var got sdk.Folder
	status, err := c.do(ctx, op{http.MethodGet, "/api/folders/" + uid, KindFolder, "read"}, func(ctx context.Context) (err error) {
		got, err = c.sdk.GetFolderByUID(ctx, uid)
		return err
	})
	if status == http.StatusOK && err == nil {
		r.Action, r.id = Exists, got.ID
		if got.Title != "" {
			r.Title = got.Title
		}
		return r
	}
	if !errors.Is(err, ErrNotFound) {
		return fail(err)
	}
	_, err = c.do(ctx, op{http.MethodPost, "/api/folders", KindFolder, "create"}, func(ctx context.Context) (err error) {
		got, err = c.sdk.CreateFolder(ctx, sdk.Folder{UID: uid, Title: title})
		return err
	})
	if err != nil {
		return fail(err)
	}
	r.Action, r.id = Created, got.ID
	return r
}

// datasource creates d when Grafana has no datasource with its UID. The SDK has no
// lookup by UID (only by numeric id and by name, and a name may be taken by a
// datasource the dashboards do not mean), so that GET is made here; the creation
// is the SDK's CreateDatasource.
func (c *Client) datasource(ctx context.Context, d Datasource) Result {
	r := Result{Kind: KindDatasource, UID: d.UID, Title: d.Name}
	if !validUID.MatchString(d.UID) {
		r.Action, r.Err = Failed, fmt.Errorf("the datasource UID %q is not a Grafana UID (1 to 40 letters, digits, '-' and '_')", d.UID)
		return r
	}
	if d.Name == "" || d.Type == "" {
		r.Action, r.Err = Failed, errors.New("the datasource needs a name and a type")
		return r
	}
	path := "/api/datasources/uid/" + d.UID
	status, err := c.do(ctx, op{http.MethodGet, path, KindDatasource, "read"}, func(ctx context.Context) error {
		return c.raw(ctx, http.MethodGet, path, nil, nil)
	})
	if status == http.StatusOK && err == nil {
		r.Action = Exists
		return r
	}
	if !errors.Is(err, ErrNotFound) {
		r.Action, r.Err = Failed, err
		return r
	}
	access := d.Access
	if access == "" {
		access = "proxy"
	}
	jsonData := d.JSONData
	if jsonData == nil {
		jsonData = map[string]any{}
	}
	ds := sdk.Datasource{UID: d.UID, Name: d.Name, Type: d.Type, URL: d.URL, Access: access, JSONData: jsonData}
	if len(d.SecureJSONData) > 0 {
		ds.SecureJSONData = d.SecureJSONData
	}
	_, err = c.do(ctx, op{http.MethodPost, "/api/datasources", KindDatasource, "create"}, func(ctx context.Context) error {
		_, err := c.sdk.CreateDatasource(ctx, ds)
		return err
	})
	if err != nil {
		r.Action, r.Err = Failed, err
		return r
	}
	r.Action = Created
	return r
}

// saveRequest is the body of POST /api/dashboards/db. The SDK's
// SetRawDashboardWithParam cannot send it: its parameters have a folder id but no
// folderUid (Grafana's documented way to name the folder, folderId being
// deprecated) and no version message, so the save is made here.
type saveRequest struct {
	Dashboard map[string]any `json:"dashboard"`
	FolderUID string         `json:"folderUid,omitempty"`
	Overwrite bool           `json:"overwrite"`
	Message   string         `json:"message"`
}

// dashboard saves d into the folder, unless Grafana's copy is already the same and
// in that folder.
func (c *Client) dashboard(ctx context.Context, d Dashboard, folderUID string, folderID int) Result {
	r := Result{Kind: KindDashboard, UID: d.UID, Title: d.Title}
	fail := func(err error) Result {
		r.Action, r.Err = Failed, err
		return r
	}
	if !validUID.MatchString(d.UID) {
		return fail(fmt.Errorf("the dashboard UID %q is not a Grafana UID (1 to 40 letters, digits, '-' and '_')", d.UID))
	}
	var model map[string]any
	if err := json.Unmarshal(d.JSON, &model); err != nil || model == nil {
		return fail(fmt.Errorf("the dashboard's JSON is not a JSON object: %v", err))
	}
	if uid, ok := model["uid"]; ok && uid != nil && uid != d.UID {
		return fail(fmt.Errorf("the dashboard's JSON has uid %v, not %q", uid, d.UID))
	}
	model["uid"] = d.UID
	if t, _ := model["title"].(string); t == "" {
		if d.Title == "" {
			return fail(errors.New("the dashboard has no title"))
		}
		model["title"] = d.Title
	}
	if r.Title == "" {
		r.Title, _ = model["title"].(string)
	}
	// Grafana sets id and version itself; with overwrite, none are needed.
	delete(model, "id")
	delete(model, "version")

	// Read with a request of this package, not the SDK's GetRawDashboardByUID:
	// the SDK's metadata has the folder's numeric id but not its folderUid, and
	// Grafana is deprecating the numeric ids.
	var got struct {
		Dashboard json.RawMessage `json:"dashboard"`
		Meta      struct {
			FolderUID string `json:"folderUid"`
			FolderID  int    `json:"folderId"`
		} `json:"meta"`
	}
	getPath := "/api/dashboards/uid/" + d.UID
	status, err := c.do(ctx, op{http.MethodGet, getPath, KindDashboard, "read"}, func(ctx context.Context) error {
		return c.raw(ctx, http.MethodGet, getPath, nil, &got)
	})
	exists := status == http.StatusOK && err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fail(err)
	}
	inFolder := got.Meta.FolderUID == folderUID
	if got.Meta.FolderUID == "" && folderUID != "" {
		// A Grafana that answers only the numeric id.
		inFolder = folderID != 0 && got.Meta.FolderID == folderID
	}
	if exists && inFolder && sameModel(got.Dashboard, model) {
		r.Action = Unchanged
		return r
	}

	req := saveRequest{Dashboard: model, FolderUID: folderUID, Overwrite: true, Message: Message}
	var saved sdk.StatusMessage
	_, err = c.do(ctx, op{http.MethodPost, "/api/dashboards/db", KindDashboard, "save"}, func(ctx context.Context) error {
		return c.raw(ctx, http.MethodPost, "/api/dashboards/db", req, &saved)
	})
	if err != nil {
		return fail(err)
	}
	if saved.Status != nil && *saved.Status != "success" {
		return fail(fmt.Errorf("Grafana answered the save of the dashboard with status %q", *saved.Status))
	}
	r.Action = Created
	if exists {
		r.Action = Updated
	}
	return r
}

// sameModel reports whether Grafana's copy of a dashboard holds the model that
// would be sent, leaving out the id and version Grafana keeps itself.
func sameModel(grafana []byte, model map[string]any) bool {
	var have map[string]any
	if json.Unmarshal(grafana, &have) != nil {
		return false
	}
	delete(have, "id")
	delete(have, "version")
	// Both sides through the same JSON decoding, so numbers compare alike.
	b, err := json.Marshal(model)
	if err != nil {
		return false
	}
	var want map[string]any
	if json.Unmarshal(b, &want) != nil {
		return false
	}
	return reflect.DeepEqual(have, want)
}
