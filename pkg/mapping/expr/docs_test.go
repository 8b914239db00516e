package expr

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// docExample is one example from Microsoft's references: the provisioning
// reference ("Reference for writing expressions for attribute mappings in
// Microsoft Entra ID"), the cloud sync reference, and, where those give
// none for a function, the Connect Sync functions reference.
type docExample struct {
	name string
	expr string
	env  MapEnv
	want Value
}

// timedExample is an example that depends on Now().
type timedExample struct {
	docExample
	now time.Time
}

// usDate is a date/time written as the documentation writes CDate's,
// DateAdd's and Now's results: M/d/yyyy h:mm:ss tt, in UTC.
func usDate(s string) Value {
	t, err := time.Parse("1/2/2006 3:04:05 PM", s)
	if err != nil {
		panic(err)
	}
	return DateTime(t)
}

func TestDocumentedExamples(t *testing.T) {
	t.Parallel()
	upnRule := `Join("@", NormalizeDiacritics(StripSpaces(Join(".",  %s, [PreferredLastName]))), "contoso.com")`
	johnSmith := MapEnv{"PreferredFirstName": {"John"}, "PreferredLastName": {"Smith"}}
	tests := []docExample{
		{"Append", `Append([userPrincipalName], ".test")`,
			MapEnv{"userPrincipalName": {"John.Doe@contoso.com"}}, String("John.Doe@contoso.com.test")},
		{"BitAnd", `BitAnd(&HF, &HF7)`, nil, Int(7)},
		{"CBool same", `CBool([attribute1] = [attribute2])`,
			MapEnv{"attribute1": {"a"}, "attribute2": {"a"}}, Bool(true)},
		{"CBool different", `CBool([attribute1] = [attribute2])`,
			MapEnv{"attribute1": {"a"}, "attribute2": {"b"}}, Bool(false)},
		{"Coalesce", `Coalesce([mail],[userPrincipalName])`,
			MapEnv{"userPrincipalName": {"John.Doe@contoso.com"}}, String("John.Doe@contoso.com")},
		{"ConvertToBase64", `ConvertToBase64("Hello world!")`, nil, String("SABlAGwAbABvACAAdwBvAHIAbABkACEA")},
		{"ConvertFromBase64 Unicode", `ConvertFromBase64("SABlAGwAbABvACAAdwBvAHIAbABkACEA")`, nil, String("Hello world!")},
		{"ConvertFromBase64 UTF8", `ConvertFromBase64("SGVsbG8gd29ybGQh", UTF8)`, nil, String("Hello world!")},
		{"CStr", `CStr([dn])`, MapEnv{"dn": {"cn=Joe,dc=contoso,dc=com"}}, String("cn=Joe,dc=contoso,dc=com")},
		{"DNComponent", `DNComponent(CRef([dn]),1)`, MapEnv{"dn": {"cn=Joe,ou=Sales,dc=contoso,dc=com"}}, String("Joe")},
		{"Error not raised", `IIF(IsPresent([accountName]),[accountName],Error("AccountName is required"))`,
			MapEnv{"accountName": {"jdoe"}}, String("jdoe")},
		{"IgnoreFlowIfNullOrEmpty null", `IgnoreFlowIfNullOrEmpty([department])`, nil, ignored()},
		{"IgnoreFlowIfNullOrEmpty empty", `IgnoreFlowIfNullOrEmpty([department])`, MapEnv{"department": {""}}, ignored()},
		{"IgnoreFlowIfNullOrEmpty value", `IgnoreFlowIfNullOrEmpty([department])`, MapEnv{"department": {"Sales"}}, String("Sales")},
		{"IgnoreFlowIfNullOrEmpty Switch no match",
			`IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof.", "3445", "Prof. Dr."))`,
			MapEnv{"prefix": {"9999"}}, ignored()},
		{"IgnoreFlowIfNullOrEmpty Switch match",
			`IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof.", "3445", "Prof. Dr."))`,
			MapEnv{"prefix": {"3444"}}, String("Prof.")},
		{"IIF true", `IIF([country]="USA",[country],[department])`,
			MapEnv{"country": {"USA"}, "department": {"Sales"}}, String("USA")},
		{"IIF false", `IIF([country]="USA",[country],[department])`,
			MapEnv{"country": {"FR"}, "department": {"Sales"}}, String("Sales")},
		{"IIF AND", `IIF([country]="USA",IIF([state]="CA","True","False"),"False")`,
			MapEnv{"country": {"USA"}, "state": {"CA"}}, String("True")},
		{"IIF AND false", `IIF([country]="USA",IIF([state]="CA","True","False"),"False")`,
			MapEnv{"country": {"USA"}, "state": {"WA"}}, String("False")},
		{"IIF OR", `IIF([country]="USA","True",IIF([state]="CA","True","False"))`,
			MapEnv{"country": {"FR"}, "state": {"CA"}}, String("True")},
		{"IIF OR false", `IIF([country]="USA","True",IIF([state]="CA","True","False"))`,
			MapEnv{"country": {"FR"}, "state": {"WA"}}, String("False")},
		{"IIF workaround empty", `Switch([country],[country],"","Other")`, MapEnv{"country": {""}}, String("Other")},
		{"IIF workaround null", `Switch([country],[country],"","Other")`, nil, String("Other")},
		{"IIF workaround present", `Switch([country],[country],"","Other")`, MapEnv{"country": {"FR"}}, String("FR")},
		{"IIF intern (cloud sync)", `IIF([employeeType]="Intern","t-" & [alias],[alias])`,
			MapEnv{"employeeType": {"Intern"}, "alias": {"jdoe"}}, String("t-jdoe")},
		{"IIF not intern (cloud sync)", `IIF([employeeType]="Intern","t-" & [alias],[alias])`,
			MapEnv{"employeeType": {"Employee"}, "alias": {"jdoe"}}, String("jdoe")},
		{"InStr", `InStr("The quick brown fox","quick")`, nil, Int(5)},
		{"InStr start binary", `InStr("repEated","e",3,vbBinaryCompare)`, nil, Int(7)},
		{"IsNull absent", `IsNull([displayName])`, nil, Bool(true)},
		{"IsNull present", `IsNull([displayName])`, MapEnv{"displayName": {""}}, Bool(false)},
		{"IsNullOrEmpty absent", `IsNullOrEmpty([displayName])`, nil, Bool(true)},
		{"IsNullOrEmpty empty", `IsNullOrEmpty([displayName])`, MapEnv{"displayName": {""}}, Bool(true)},
		{"IsNullOrEmpty present", `IsNullOrEmpty([displayName])`, MapEnv{"displayName": {"Jo"}}, Bool(false)},
		{"Item", `Item([proxyAddresses], 1)`,
			MapEnv{"proxyAddresses": {"SMTP:a@contoso.com", "smtp:b@contoso.com"}}, String("SMTP:a@contoso.com")},
		{"Join", `Join(", ", "", [surname], [givenName])`,
			MapEnv{"givenName": {"John"}, "surname": {"Doe"}}, String("Doe, John")},
		{"Join multi-valued (Connect Sync)", `Join(",", [proxyAddresses])`,
			MapEnv{"proxyAddresses": {"SMTP:john.doe@contoso.com", "smtp:jd@contoso.com"}},
			String("SMTP:john.doe@contoso.com,smtp:jd@contoso.com")},
		{"Left", `Left("John Doe", 3)`, nil, String("Joh")},
		{"Mid alias", `Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))`,
			MapEnv{"givenName": {"John"}, "surname": {"Doe"}}, String("JohDoe")},
		{"Mid (Connect Sync)", `Mid("John Doe", 3, 5)`, nil, String("hn Do")},
		{"Mid past the end (Connect Sync)", `Mid("John Doe", 6, 999)`, nil, String("Doe")},
		{"NormalizeDiacritics", `NormalizeDiacritics([givenName])`, MapEnv{"givenName": {"Zoë"}}, String("Zoe")},
		{"PCase default separators", `PCase([firstName])`,
			MapEnv{"firstName": {"PABLO GONSALVES (SECOND)"}}, String("Pablo Gonsalves (Second)")},
		{"PCase custom separators", `PCase([lastName]," '-")`,
			MapEnv{"lastName": {"PINTO-DE'SILVA"}}, String("Pinto-De'Silva")},
		{"PCase Join", `PCase(Join(" ",[firstName],[lastName]))`,
			MapEnv{"firstName": {"GREGORY"}, "lastName": {"JAMES"}}, String("Gregory James")},
		{"PCase (Connect Sync)", `PCase("TEsT")`, nil, String("Test")},
		{"Replace oldValue", `Replace([BusinessTitle],"Product Developer", , , "Software Engineer", , )`,
			MapEnv{"BusinessTitle": {"Product Developer"}}, String("Software Engineer")},
		{"Replace template", `Replace([UserID],"<username>", , , , , "<username>@contoso.com")`,
			MapEnv{"UserID": {"jsmith"}}, String("jsmith@contoso.com")},
		{"Replace regex substitution",
			`Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", , "${phoneNumber}", , )`,
			MapEnv{"telephoneNumber": {"+91 9998887777"}}, String("9998887777")},
		// The documentation gives 19998887777, but the pattern has no "+" in
		// its class and .NET's Regex.Replace keeps it; this is the result
		// .NET gives.
		{"Replace regex collapse", `Replace([mobile], , "[()\\s-]+", , "", , )`,
			MapEnv{"mobile": {"+1 (999) 888-7777"}}, String("+19998887777")},
		{"Replace regex group", `Replace([AddressLineData], ,"(?<streetNumber>^\\d*)","streetNumber", "888", , )`,
			MapEnv{"AddressLineData": {"545 Tremont Street"}}, String("888 Tremont Street")},
		{"Replace regex group suffix", `Replace([userPrincipalName], , "(?<Suffix>@(.)*)", "Suffix", "", , )`,
			MapEnv{"userPrincipalName": {"jsmith@contoso.com"}}, String("jsmith")},
		{"Replace replacementAttributeName",
			`Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber" , , [mobile], )`,
			MapEnv{"telephoneNumber": {""}, "mobile": {"+91 8887779999"}}, String("8887779999")},
		{"Replace replacementAttributeName source present",
			`Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber" , , [mobile], )`,
			MapEnv{"telephoneNumber": {"+1 5551234567"}, "mobile": {"+91 8887779999"}}, String("+1 5551234567")},
		{"Replace remove letters", `Replace([mailNickname], , "[a-zA-Z_]*", , "", , )`,
			MapEnv{"mailNickname": {"john_doe72"}}, String("72")},
		{"Replace strip domain", `Replace([mail], "@contoso.com", , ,"", ,)`,
			MapEnv{"mail": {"john.doe@contoso.com"}}, String("john.doe")},
		{"Split", `Split([extensionAttribute5], ",")`,
			MapEnv{"extensionAttribute5": {"PermissionSetOne, PermissionSetTwo"}},
			Multi([]string{"PermissionSetOne", "PermissionSetTwo"})},
		{"Split (Connect Sync)", `Split("SMTP:john.doe@contoso.com,smtp:jd@contoso.com",",")`, nil,
			Multi([]string{"SMTP:john.doe@contoso.com", "smtp:jd@contoso.com"})},
		{"Switch", `Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane", "SA", "Australia/Adelaide")`,
			MapEnv{"state": {"QLD"}}, String("Australia/Brisbane")},
		{"Switch default", `Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane", "SA", "Australia/Adelaide")`,
			MapEnv{"state": {"WA"}}, String("Australia/Sydney")},
		{"Switch ToLower", `Switch(ToLower([statusFlag]), "0", "true", "1", "false", "0")`,
			MapEnv{"statusFlag": {"TRUE"}}, String("1")},
		{"Switch empty key", `Switch([statusFlag], "Default Value", "true", "1", "", "0")`,
			MapEnv{"statusFlag": {""}}, String("0")},
		{"Switch resolution", `switch([companyName], "External", "Company A", "A", "Company B", "B")`,
			MapEnv{"companyName": {"Company B"}}, String("B")},
		{"Switch resolution as IIF",
			`IIF([companyName] = "Company A", "A", IIF([companyName] = "Company B", "B", "External"))`,
			MapEnv{"companyName": {"Company C"}}, String("External")},
		{"ToLower UPN", `ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".",  [PreferredFirstName], [PreferredLastName]))), "contoso.com"))`,
			johnSmith, String("john.smith@contoso.com")},
		{"SelectUniqueValue rule 1", fmt.Sprintf(upnRule, "[PreferredFirstName]"), johnSmith, String("John.Smith@contoso.com")},
		{"SelectUniqueValue rule 2", fmt.Sprintf(upnRule, "Mid([PreferredFirstName], 1, 1)"), johnSmith, String("J.Smith@contoso.com")},
		{"SelectUniqueValue rule 3", fmt.Sprintf(upnRule, "Mid([PreferredFirstName], 1, 2)"), johnSmith, String("Jo.Smith@contoso.com")},
		{"Trim", `Trim(" Test ")`, nil, String("Test")},
		{"Trim multi-valued", `Trim([proxyAddresses])`,
			MapEnv{"proxyAddresses": {" SMTP:a@contoso.com", "smtp:b@contoso.com  "}},
			Multi([]string{"SMTP:a@contoso.com", "smtp:b@contoso.com"})},
		{"Word", `Word("The quick brown fox",3," ")`, nil, String("brown")},
		{"Word separators", `Word("This,string!has&many separators",3,",!&#")`, nil, String("has")},
	}
	tests = append(tests, dateExamples()...)
	tests = append(tests, encodingExamples()...)
	timed := dateDiffExamples()
	for _, tt := range tests {
		timed = append(timed, timedExample{docExample: tt})
	}
	for _, tt := range timed {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := Compile(tt.expr)
			require.NoError(t, err)
			ev := Evaluator{}
			if !tt.now.IsZero() {
				ev.Now = func() time.Time { return tt.now }
			}
			got, err := ev.Eval(e, tt.env)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, "%s: got %s", tt.expr, got)
		})
	}
}

func dateDiffExamples() []timedExample {
	// DateDiff's table gives date1 as Now() and date2 as StatusHireDate.
	diff := func(interval, date2 string) (string, MapEnv) {
		return fmt.Sprintf(`DateDiff(%q, Now(), CDate([StatusHireDate]))`, interval), MapEnv{"StatusHireDate": {date2}}
	}
	aug25 := time.Date(2021, 8, 25, 17, 41, 18, 0, time.UTC) // 8/25/2021 5:41:18 PM
	type row struct {
		name, interval string
		date1          time.Time
		date2          string
		want           int64
	}
	var out []timedExample
	for _, r := range []row{
		{"positive days", "d", time.Date(2021, 8, 17, 16, 0, 0, 0, time.UTC) /* 2021-08-18+08:00 */, "2021-08-31+08:00", 13},
		{"negative days", "d", aug25, "2012-03-16-07:00", -3449},
		{"weeks", "ww", aug25, "2012-03-16-07:00", -493},
		{"months", "m", aug25, "2012-03-16-07:00", -113},
		{"years", "yyyy", aug25, "2012-03-16-07:00", -9},
		{"same", "d", time.Date(2021, 8, 30, 16, 0, 0, 0, time.UTC) /* 2021-08-31+08:00 */, "2021-08-31+08:00", 0},
		{"hours", "h", time.Date(2021, 8, 24, 0, 0, 0, 0, time.UTC), "2021-08-25", 24},
		{"minutes", "n", time.Date(2021, 8, 24, 0, 0, 0, 0, time.UTC), "2021-08-25", 1440},
		{"seconds", "s", time.Date(2021, 8, 24, 0, 0, 0, 0, time.UTC), "2021-08-25", 86400},
	} {
		expr, env := diff(r.interval, r.date2)
		out = append(out, timedExample{docExample{"DateDiff " + r.name, expr, env, Int(r.want)}, r.date1})
	}
	// DateDiff's second example describes its result: accountEnabled is
	// True only if the hire date is within the next five days.
	active := `Switch([Active], , 
  "1", IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, "False", "True"), 
  "0", "False")`
	return append(out,
		timedExample{docExample{"DateDiff in Switch, hired in 15 days", active,
			MapEnv{"Active": {"1"}, "StatusHireDate": {"2021-09-10"}}, String("False")}, aug25},
		timedExample{docExample{"DateDiff in Switch, hired in 2 days", active,
			MapEnv{"Active": {"1"}, "StatusHireDate": {"2021-08-28"}}, String("True")}, aug25},
		timedExample{docExample{"DateDiff in Switch, inactive", active,
			MapEnv{"Active": {"0"}, "StatusHireDate": {"2021-08-28"}}, String("False")}, aug25},
		timedExample{docExample{"Now", `Now()`, nil, usDate("7/2/2021 3:33:38 PM")}, time.Date(2021, 7, 2, 15, 33, 38, 0, time.UTC)},
	)
}

func dateExamples() []docExample {
	hire := MapEnv{"StatusHireDate": {"2012-03-16-07:00"}}
	return []docExample{
		{"CDate", `CDate([StatusHireDate])`, MapEnv{"StatusHireDate": {"2020-03-16-07:00"}}, usDate("3/16/2020 7:00:00 AM")},
		{"CDate positive offset", `CDate("2021-06-30+08:00")`, nil, usDate("6/29/2021 4:00:00 PM")},
		{"CDate ISO 8601", `CDate("2009-06-15T01:45:30-07:00")`, nil, usDate("6/15/2009 8:45:30 AM")},
		{"CDate hours offset (Connect Sync)", `CDate("2013-01-10 4:00 PM -8")`, nil, usDate("1/11/2013 12:00:00 AM")},
		{"DateAdd 7 days", `DateAdd("d", 7, CDate([StatusHireDate]))`, hire, usDate("3/23/2012 7:00:00 AM")},
		{"DateAdd -10 days", `DateAdd("d", -10, CDate([StatusHireDate]))`, hire, usDate("3/6/2012 7:00:00 AM")},
		{"DateAdd 2 weeks", `DateAdd("ww", 2, CDate([StatusHireDate]))`, hire, usDate("3/30/2012 7:00:00 AM")},
		{"DateAdd 10 months", `DateAdd("m", 10, CDate([StatusHireDate]))`, hire, usDate("1/16/2013 7:00:00 AM")},
		{"DateAdd 2 years", `DateAdd("yyyy", 2, CDate([StatusHireDate]))`, hire, usDate("3/16/2014 7:00:00 AM")},
		{"DateAdd 3 months (Connect Sync)", `DateAdd("m", 3, CDate("2001-01-01"))`, nil, usDate("4/1/2001 12:00:00 AM")},
		{"DateFromNum", `DateFromNum(129699324000000000)`, nil, usDate("1/1/2012 11:00:00 PM")},
		{"DateFromNum attribute", `DateFromNum([lastLogonTimestamp])`, MapEnv{"lastLogonTimestamp": {"129699324000000000"}},
			usDate("1/1/2012 11:00:00 PM")},
		{"FormatDateTime", `FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")`,
			MapEnv{"extensionAttribute1": {"20150123105347.1Z"}}, String("2015-01-23")},
		{"FormatDateTime (cloud sync)", `FormatDateTime([extensionAttribute1], "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")`,
			MapEnv{"extensionAttribute1": {"20150123105347.1Z"}}, String("2015-01-23")},
		{"FormatDateTime (Connect Sync)", `FormatDateTime(CDate("12/25/2007"),"yyyy-MM-dd")`, nil, String("2007-12-25")},
		{"FormatDateTime DateFromNum (Connect Sync)", `FormatDateTime(DateFromNum([pwdLastSet]),"yyyyMMddHHmmss.0Z")`,
			MapEnv{"pwdLastSet": {"130543784930000000"}}, String("20140905081453.0Z")},
		{"NumFromDate (Connect Sync)", `NumFromDate(CDate("2012-01-01 23:00:00"))`, nil, Int(129699324000000000)},
		// The Workday and SuccessFactors examples give no result: the end
		// date at 23:59:59-08:00 is 2021-01-01 07:59:59 UTC.
		{"NumFromDate Workday", `NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))`,
			MapEnv{"ContractEndDate": {"2020-12-31-08:00"}}, Int(132539615990000000)},
		{"NumFromDate SuccessFactors", `NumFromDate(Join("",FormatDateTime([endDate], ,"M/d/yyyy hh:mm:ss tt","yyyy-MM-dd")," 23:59:59-08:00"))`,
			MapEnv{"endDate": {"12/31/2020 12:00:00 AM"}}, Int(132539615990000000)},
	}
}

func encodingExamples() []docExample {
	idRule := `Join("", 1000, Replace(ConvertToUTF8Hex([objectId]), , "[a-zA-Z_]*", , "", , ))`
	return []docExample{
		{"ConvertToUTF8Hex", `ConvertToUTF8Hex("Hello world!")`, nil, String("48656C6C6F20776F726C6421")},
		// The documentation's output is not that of its input: the object ID
		// was anonymised after the output was computed. This is the result
		// for the input as printed...
		{"ConvertToUTF8Hex objectId", idRule, MapEnv{"objectId": {"00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}},
			String("100030306161303061612626231312636332322646433332343465653434656534346565")},
		// ...and the documented output is exactly that of the object ID it
		// encodes.
		{"ConvertToUTF8Hex objectId output", idRule, MapEnv{"objectId": {"d05e47b1-3909-445a-ba5e-ca60cbc0e4b4"}},
			String("100064303565343762312333930392343435612626135652636136306362633065346234")},
		{"RemoveDuplicates", `RemoveDuplicates([proxyAddresses])`,
			MapEnv{"proxyAddresses": {"SMTP:john@contoso.com", "smtp:jd@contoso.com", "SMTP:john@contoso.com"}},
			Multi([]string{"SMTP:john@contoso.com", "smtp:jd@contoso.com"})},
	}
}

// TestDocumentedSelectUniqueValue runs the documented UPN rules against a
// tenant where the earlier candidates are taken.
func TestDocumentedSelectUniqueValue(t *testing.T) {
	t.Parallel()
	e := MustCompile(`
    SelectUniqueValue( 
        Join("@", NormalizeDiacritics(StripSpaces(Join(".",  [PreferredFirstName], [PreferredLastName]))), "contoso.com"), 
        Join("@", NormalizeDiacritics(StripSpaces(Join(".",  Mid([PreferredFirstName], 1, 1), [PreferredLastName]))), "contoso.com"),
        Join("@", NormalizeDiacritics(StripSpaces(Join(".",  Mid([PreferredFirstName], 1, 2), [PreferredLastName]))), "contoso.com")
    )`)
	assert.True(t, e.UsesSelectUniqueValue())
	env := MapEnv{"PreferredFirstName": {"John"}, "PreferredLastName": {"Smith"}}
	tests := []struct {
		taken []string
		want  string
	}{
		{nil, "John.Smith@contoso.com"},
		{[]string{"John.Smith@contoso.com"}, "J.Smith@contoso.com"},
		{[]string{"John.Smith@contoso.com", "J.Smith@contoso.com"}, "Jo.Smith@contoso.com"},
	}
	for _, tt := range tests {
		var asked []string
		ev := Evaluator{Unique: func(v string) (bool, error) {
			asked = append(asked, v)
			return !slices.Contains(tt.taken, v), nil
		}}
		got, err := ev.Eval(e, env)
		require.NoError(t, err)
		assert.Equal(t, String(tt.want), got)
		assert.Equal(t, append(slices.Clone(tt.taken), tt.want), asked, "candidates are checked in order, and no further")
	}
	// "If all of the values already exist in the target, the entry is
	// escrowed": an error the caller can recognise.
	ev := Evaluator{Unique: func(string) (bool, error) { return false, nil }}
	_, err := ev.Eval(e, env)
	require.ErrorIs(t, err, ErrNoUniqueValue)
	assert.Contains(t, err.Error(), `"John.Smith@contoso.com", "J.Smith@contoso.com", "Jo.Smith@contoso.com" are all taken`)
}

// TestDocumentedRandomExamples checks what the documentation says of
// RandomString's and Redact's examples; their outputs are random.
func TestDocumentedRandomExamples(t *testing.T) {
	t.Parallel()
	count := func(s, class string) int {
		n := 0
		for _, r := range s {
			if strings.ContainsRune(class, r) {
				n++
			}
		}
		return n
	}
	for seed := range uint64(50) {
		ev := Evaluator{Rand: rand.NewChaCha8([32]byte{byte(seed)})}
		v, err := ev.Eval(MustCompile(`RandomString(6,3,0,0,3)`), nil)
		require.NoError(t, err)
		s, _ := v.Text()
		// "6 characters ... 3 numbers and 3 lower case characters (1a73qt)"
		assert.Len(t, s, 6)
		assert.Equal(t, 3, count(s, randomDigits), s)
		assert.Equal(t, 3, count(s, randomLower), s)

		v, err = ev.Eval(MustCompile(`RandomString(10,2,2,2,1,"?,")`), nil)
		require.NoError(t, err)
		s, _ = v.Text()
		// "10 characters ... at least 2 numbers, 2 special characters, 2
		// capital letters, 1 lower case letter and excludes the characters
		// "?" and "," (1@!2BaRg53)"
		assert.Len(t, s, 10)
		assert.GreaterOrEqual(t, count(s, randomDigits), 2, s)
		assert.GreaterOrEqual(t, count(s, randomSpecial), 2, s)
		assert.GreaterOrEqual(t, count(s, randomUpper), 2, s)
		assert.GreaterOrEqual(t, count(s, randomLower), 1, s)
		assert.NotContains(t, s, "?")
		assert.NotContains(t, s, ",")
	}

	env := MapEnv{"userPrincipalName": {"john.doe@contoso.com"}}
	for src, want := range map[string]string{
		`Redact([userPrincipalName])`:     "john.doe@contoso.com",
		`Redact("StringToBeRedacted")`:    "StringToBeRedacted",
		`Redact(RandomString(6,3,0,0,3))`: "",
	} {
		e := MustCompile(src)
		assert.True(t, e.Redacts(), src)
		v, err := e.Eval(env)
		require.NoError(t, err)
		if want != "" {
			assert.Equal(t, String(want), v, "Redact leaves the value as it is")
		}
	}
	assert.False(t, MustCompile(`[userPrincipalName]`).Redacts())
}

func TestDocumentedErrorExample(t *testing.T) {
	t.Parallel()
	e := MustCompile(`IIF(IsPresent([accountName]),[accountName],Error("AccountName is required"))`)
	_, err := e.Eval(MapEnv{})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrRaised)
	var xe *Error
	require.ErrorAs(t, err, &xe)
	assert.Equal(t, "AccountName is required", xe.Msg)
	assert.Equal(t, Pos{1, 44}, Pos{xe.Line, xe.Col})
}

// TestDocumentedExamplesCompile covers examples whose output is not given.
func TestDocumentedExamplesCompile(t *testing.T) {
	t.Parallel()
	compiles := []string{
		`Switch(IsPresent([directManager]),[directManager], IsPresent([skiplevelManager]),[skiplevelManager], IsPresent([director]),[director])`,
		`Guid()`,
		`IsString([x])`,
		`Count([proxyAddresses])`,
		`CDate([employeeStartTime])`,
	}
	for _, src := range compiles {
		_, err := Compile(src)
		assert.NoError(t, err, src)
	}
}

// TestNormalizeDiacriticsTable checks every row of the documented table.
func TestNormalizeDiacriticsTable(t *testing.T) {
	t.Parallel()
	rows := []struct{ in, want string }{
		{"ä à â ã å á ą ă ā ā́ ā̀ ā̂ ā̃ ǟ ā̈ ǡ a̱ å̄", "a"},
		{"Ä À Â Ã Å Á Ą Ă Ā Ā́ Ā̀ Ā̂ Ā̃ Ǟ Ā̈ Ǡ A̱ Å̄", "A"},
		{"æ ǣ", "ae"}, {"Æ Ǣ", "AE"},
		{"ç č ć c̄ c̱", "c"}, {"Ç Č Ć C̄ C̱", "C"},
		{"ď d̄ ḏ", "d"}, {"Ď D̄ Ḏ", "D"},
		{"ë è é ê ę ě ė ē ḗ ḕ ē̂ ē̃ ê̄ e̱ ë̄ e̊̄", "e"},
		{"Ë È É Ê Ę Ě Ė Ē Ḗ Ḕ Ē̂ Ē̃ Ê̄ E̱ Ë̄ E̊̄", "E"},
		{"ğ ḡ g̱", "g"}, {"Ğ Ḡ G̱", "G"},
		{"ï î ì í ı ī ī́ ī̀ ī̂ ī̃ i̱", "i"}, {"Ï Î Ì Í İ Ī Ī́ Ī̀ Ī̂ Ī̃ I̱", "I"},
		{"ľ ł l̄ ḹ ḻ", "l"}, {"Ł Ľ L̄ Ḹ Ḻ", "L"},
		{"ñ ń ň n̄ ṉ", "n"}, {"Ñ Ń Ň N̄ Ṉ", "N"},
		{"ö ò ő õ ô ó ō ṓ ṑ ō̂ ō̃ ȫ ō̈ ǭ ȭ ȱ o̱", "o"},
		{"Ö Ò Ő Õ Ô Ó Ō Ṓ Ṑ Ō̂ Ō̃ Ȫ Ō̈ Ǭ Ȭ Ȱ O̱", "O"},
		{"ø ø̄ œ̄", "oe"}, {"Ø Ø̄ Œ̄", "OE"},
		{"ř r̄ ṟ ṝ", "r"}, {"Ř R̄ Ṟ Ṝ", "R"},
		{"ß", "ss"},
		{"š ś ș ş s̄ s̱", "s"}, {"Š Ś Ș Ş S̄ S̱", "S"},
		{"ť ț t̄ ṯ", "t"}, {"Ť Ț T̄ Ṯ", "T"},
		{"ü ù û ú ů ű ū ū́ ū̀ ū̂ ū̃ u̇̄ ǖ ṻ ṳ̄ u̱", "u"},
		{"Ü Ù Û Ú Ů Ű Ū Ū́ Ū̀ Ū̂ Ū̃ U̇̄ Ǖ Ṻ Ṳ̄ U̱", "U"},
		{"ÿ ý ȳ ȳ́ ȳ̀ ȳ̃ y̱", "y"}, {"Ÿ Ý Ȳ Ȳ́ Ȳ̀ Ȳ̃ Y̱", "Y"},
		{"ź ž ż z̄ ẕ", "z"}, {"Ź Ž Ż Z̄ Ẕ", "Z"},
	}
	for _, r := range rows {
		got := normalizeDiacritics(r.in)
		for i, w := range strings.Fields(got) {
			assert.Equal(t, r.want, w, "character %d of %q", i+1, r.in)
		}
	}
}
