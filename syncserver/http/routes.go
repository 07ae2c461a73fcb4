package httpapi

import "sort"

// Route is one method and path the API serves, with echo's :param names.
type Route struct {
	Method string
	Path   string
}

// Routes lists every route the server serves, sorted, so a test can hold
// each one to the role table of DESIGN.md §9 and no route slips in
// without a decision about who may call it.
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.echo.Routes() {
		if r.Method == "echo_route_any" || r.Path == "" {
			continue
		}
		out = append(out, Route{Method: r.Method, Path: r.Path})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}
