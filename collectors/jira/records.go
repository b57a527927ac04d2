package jira

import (
	"fmt"
	"strconv"

	"github.com/flowmeter/flowmeter/schema"
)

// categoryName is the stored name of a status category, by Jira's category key:
// the key is stable where the name is translated into the site's language.
func categoryName(c apiStatusCategory) string {
	switch c.Key {
	case "new":
		return "To Do"
	case "indeterminate":
		return "In Progress"
	case "done":
		return "Done"
	}
	return c.Name
}

// isStatusItem says whether a changelog item is a status transition.
func isStatusItem(it apiItem) bool {
	return it.FieldID == "status" || (it.FieldID == "" && it.Field == "status")
}

func displayName(u *apiUser) string {
	if u == nil {
		return ""
	}
	return u.DisplayName
}

func name(n *apiNamed) string {
	if n == nil {
		return ""
	}
	return n.Name
}

// workItem is an issue's record; the collection and webhook events build it alike.
func (s *Source) workItem(is *apiIssue) (schema.WorkItem, error) {
	f := &is.Fields
	wi := schema.WorkItem{
		Source: s.name, ID: is.Key, IssueType: name(f.IssueType), Title: f.Summary, Labels: f.Labels,
		Assignee: displayName(f.Assignee), Priority: name(f.Priority), Resolution: name(f.Resolution),
		URL: s.set.baseURL + "/browse/" + is.Key,
	}
	if f.Project != nil {
		wi.Project = f.Project.Key
	}
	if f.Status != nil {
		wi.Status, wi.StatusCategory = f.Status.Name, categoryName(f.Status.StatusCategory)
	}
	for _, c := range f.Components {
		wi.Components = append(wi.Components, c.Name)
	}
	var err error
	if wi.CreatedAt, err = parseTime(f.Created); err != nil {
		return wi, fmt.Errorf("issue %s: created: %w", is.Key, err)
	}
	if wi.UpdatedAt, err = parseTime(f.Updated); err != nil {
		return wi, fmt.Errorf("issue %s: updated: %w", is.Key, err)
	}
	if wi.ResolvedAt, err = parseTime(f.ResolutionDate); err != nil {
		return wi, fmt.Errorf("issue %s: resolutiondate: %w", is.Key, err)
	}
	return wi, nil
}

// statusChangeID is a transition's id: the history's id and the item's place among
// the history's status items, so a history read again overwrites its record.
func statusChangeID(key, historyID string, n int) string {
	return key + "/" + historyID + "/" + strconv.Itoa(n)
}

// statusChange is one status item of a changelog history as a record.
func (s *Source) statusChange(key, historyID string, author *apiUser, created string, n int, it apiItem, fromCat, toCat string) (schema.StatusChange, error) {
	at, err := parseTime(created)
	if err != nil {
		return schema.StatusChange{}, fmt.Errorf("issue %s: history %s: %w", key, historyID, err)
	}
	return schema.StatusChange{
		Source: s.name, ID: statusChangeID(key, historyID, n), ItemID: key, At: at,
		From: it.FromString, To: it.ToString, FromCategory: fromCat, ToCategory: toCat,
		Author: displayName(author), UpdatedAt: at,
	}, nil
}

// worklog is one worklog as a record.
func (s *Source) worklog(key string, wl apiWorklog) (schema.Worklog, error) {
	started, err := parseTime(wl.Started)
	if err != nil {
		return schema.Worklog{}, fmt.Errorf("issue %s: worklog %s: started: %w", key, wl.ID, err)
	}
	updated, err := parseTime(wl.Updated)
	if err != nil {
		return schema.Worklog{}, fmt.Errorf("issue %s: worklog %s: updated: %w", key, wl.ID, err)
	}
	return schema.Worklog{
		Source: s.name, ID: wl.ID, ItemID: key, Author: displayName(wl.Author),
		StartedAt: started, Seconds: wl.TimeSpentSeconds, UpdatedAt: updated,
	}, nil
}
