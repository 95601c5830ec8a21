package report

import "testing"

// TestNotHeldWhy: the certificate's reason for the attachments never
// downloaded is the sentence reports have always had while the API gave
// each a url, and counts the two causes apart when it gave some none.
func TestNotHeldWhy(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    notHeldCount
		want string
	}{
		{"media=false", notHeldCount{n: 3}, "captured with --media=false"},
		{"header media", notHeldCount{n: 2, header: 2}, "captured with --media=false, or before custody downloaded template header media"},
		{"both", notHeldCount{n: 3, header: 1}, "attachments captured with --media=false; template header media so, or captured before custody downloaded it"},
		{"all without a url", notHeldCount{n: 3, header: 1, noURL: 3, noURLHeader: 1}, "served by the API without a url and never asked of the Recordings service"},
		{"some without a url", notHeldCount{n: 5, noURL: 2},
			"3 attachments captured with --media=false; 2 attachments served by the API without a url and never asked of the Recordings service"},
		{"one without a url", notHeldCount{n: 2, header: 1, noURL: 1, noURLHeader: 1},
			"1 attachment captured with --media=false; 1 template header media item served by the API without a url and never asked of the Recordings service"},
		{"header media with a url", notHeldCount{n: 4, header: 2, noURL: 2},
			"2 template header media items captured with --media=false, or before custody downloaded template header media; 2 attachments served by the API without a url and never asked of the Recordings service"},
		{"mixed", notHeldCount{n: 6, header: 3, noURL: 2, noURLHeader: 1},
			"4 attachments (2 of them template header media) captured with --media=false (the template header media so, or before custody downloaded it); 2 attachments (1 of them template header media) served by the API without a url and never asked of the Recordings service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.why(); got != tc.want {
				t.Errorf("why:\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
