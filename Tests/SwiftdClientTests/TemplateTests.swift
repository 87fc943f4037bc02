import Foundation
import Testing

@testable import SwiftdClient

@Suite("OutputTemplate")
struct TemplateTests {
    /// Returns a document as `JSONSerialization` gives it, the way inspect templates see one.
    static func document() throws -> Any {
        let json = """
            {"Name": "/web", "State": {"Running": true, "Pid": 42, "ExitCode": 0},
             "Config": {"Env": ["A=1", "B=2"], "Labels": {"team": "core", "tier": "front"}, "Cmd": null},
             "Ratio": 0.5, "Empty": [], "Ports": {"80/tcp": [{"HostPort": "8080"}]}}
            """
        return try JSONSerialization.jsonObject(with: Data(json.utf8))
    }

    func render(_ format: String) throws -> String {
        try OutputTemplate(format).render(try Self.document())
    }

    @Test("table alone means the default table")
    func tableAlone() throws {
        let flag = FlagParser.Flag(names: ["--format"], takesValue: true)
        for (arguments, expected) in [
            (["--format", "table"], nil), (["--format", " table "], nil), ([], nil),
            (["--format", "table {{.ID}}"], "table {{.ID}}"), (["--format", "{{.ID}}"], "{{.ID}}"),
        ] as [([String], String?)] {
            var flags = FlagParser([flag])
            try flags.parse(arguments)
            #expect(flags.listFormat() == expected, "\(arguments)")
        }
    }

    @Test("fields, json and index")
    func fields() throws {
        #expect(try render("{{.Name}} {{.State.Pid}} {{.State.Running}}") == "/web 42 true")
        #expect(try render("{{json .Config.Env}}") == #"["A=1","B=2"]"#)
        #expect(try render(#"{{index .Config.Labels "team"}} {{index .Config.Env 1}}"#) == "core B=2")
        #expect(try render("{{.Missing}}") == "<no value>")
        #expect(try render("{{.Config.Env}}") == "[A=1 B=2]")
    }

    @Test("range over lists and maps")
    func range() throws {
        #expect(try render("{{range .Config.Env}}[{{.}}]{{end}}") == "[A=1][B=2]")
        let indexed = try render("{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}")
        #expect(indexed == "0:A=1 1:B=2 ", "\(indexed)")
        #expect(try render("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}") == "team=core;tier=front;")
        #expect(try render("{{range .Empty}}x{{else}}none{{end}}") == "none")
        #expect(try render("{{range $p, $b := .Ports}}{{$p}}->{{(index $b 0).HostPort}}{{end}}") == "80/tcp->8080")
        #expect(try render("{{range .Config.Env}}{{$.Name}}{{end}}") == "/web/web")
    }

    @Test("if, else if and else")
    func conditions() throws {
        #expect(try render("{{if .State.Running}}up{{else}}down{{end}}") == "up")
        #expect(try render("{{if .Empty}}some{{else}}empty{{end}}") == "empty")
        #expect(try render("{{if eq .State.Pid 1}}one{{else if gt .State.Pid 40}}many{{else}}few{{end}}") == "many")
        #expect(try render(#"{{if and .State.Running (ne .Name "/db")}}yes{{end}}"#) == "yes")
        #expect(try render("{{if not .Config.Cmd}}no cmd{{end}}") == "no cmd")
        #expect(try render("{{with .Config.Labels}}{{.team}}{{end}}") == "core")
        #expect(try render("{{with .Empty}}x{{else}}empty{{end}}") == "empty")
    }

    @Test("len, printf and pipelines")
    func functions() throws {
        #expect(try render("{{len .Config.Env}} {{len .Name}} {{len .Config.Labels}}") == "2 4 2")
        #expect(try render(#"{{printf "%s has %d (%5.2f) %q" .Name .State.Pid .Ratio "x"}}"#) == #"/web has 42 ( 0.50) "x""#)
        #expect(try render(#"{{printf "%-6s|%03d|%x" "ab" 7 255}}"#) == "ab    |007|ff")
        #expect(try render(#"{{printf "%d" .Name}}"#) == "%!d(string=/web)")
        #expect(try render(#"{{printf "%s %s" .Name}}"#) == "/web %!s(MISSING)")
        #expect(try render(#"{{printf "%d" 1 2}}"#) == "1%!(EXTRA int=2)")
        #expect(try render(#"{{printf "%99999999d|%.99999999f" 1 0.5}}"#) == "%!(BADWIDTH)1|%!(BADPREC)0.500000")
        #expect(try render("{{.Name | upper}} {{.Config.Env | len}}") == "/WEB 2")
        #expect(try render(#"{{join (split "a,b" ",") "+"}} {{title "hello world"}}"#) == "a+b Hello World")
        #expect(try render(#"{{pad "x" 1 2}}|{{truncate "abcdef" 3}}"#) == " x  |abc")
        #expect(try render(#"{{$n := .Name}}{{$n}}"#) == "/web")
    }

    @Test("trim markers drop white space")
    func trimMarkers() throws {
        #expect(try render("a  {{- .Name -}}  b") == "a/webb")
        #expect(try render("{{/* comment */}}{{.Name}}") == "/web")
    }

    @Test("parse errors are usage failures", arguments: [
        "{{.Name", "{{nosuch .Name}}", "{{if .Name}}x", "{{end}}", "{{range .X}}{{else}}", #"{{"open}}"#,
        "{{.Name | .State}}",
    ])
    func parseErrors(_ format: String) {
        #expect(throws: UsageFailure.self) { try OutputTemplate(format) }
    }

    @Test("execution errors are template errors", arguments: [
        "{{len .State.Pid}}", "{{index .Config.Env 5}}", "{{range .State.Pid}}{{end}}", #"{{lt .Name 1}}"#,
        "{{$x}}",
    ])
    func executionErrors(_ format: String) throws {
        let template = try OutputTemplate(format)
        let document = try Self.document()
        #expect(throws: TemplateError.self) { try template.render(document) }
    }

    @Test("table header from field names")
    func tableHeader() throws {
        let template = try OutputTemplate(#"table {{.ID}}\t{{.RunningFor}}\t{{.Label "team"}}"#, headers: ["ID": "CONTAINER ID"])
        #expect(template.header == "CONTAINER ID\tRUNNING FOR\tLABEL")
    }

    @Test("rows hide labels from json")
    func labeledRows() throws {
        let row = LabeledRow(fields: ["Names": "web", "Labels": "team=core"], labels: ["team": "core"])
        #expect(try OutputTemplate(#"{{.Names}} {{.Label "team"}} {{.Label "none"}}|"#).render(row) == "web core |")
        #expect(try OutputTemplate("json").render(row) == #"{"Labels":"team=core","Names":"web"}"#)
    }
}
