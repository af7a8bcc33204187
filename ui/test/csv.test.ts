import { describe, expect, it } from "vitest";
import { toCsv } from "../src/csv.js";

describe("csv", () => {
  it("quotes what needs quoting and leaves nulls empty", () => {
    expect(toCsv(["a", "b"], [["x,y", 'say "hi"'], [1, null]])).toBe('a,b\r\n"x,y","say ""hi"""\r\n1,\r\n');
  });
});
