/**
 * Printing the types Zod infers as plain declarations, with the compiler's own objects. The compiler
 * does all the type work; this lays out object literals member by member so that `.describe()` texts,
 * taken from the JSON Schema, can be attached to each member as JSDoc.
 */
import { ts } from "ts-morph";
import type { JsonSchema } from "./model.js";

const FLAGS = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.InTypeAlias | ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType;

/** What a request asks for, for the schema at `accessPath` in the contract of type `contract`. */
export interface SchemaTypeRequest {
  /** e.g. `["methods", "echo", "params"]`. */
  accessPath: readonly string[];
  zod: 3 | 4;
  io: "output" | "input";
}

/**
 * `z.output<C["methods"]["echo"]["params"]>` (or `z.input`, or Zod 3's), taken member by member as Zod
 * defines them: Zod 4's `T["_zod"]["output"]`, Zod 3's `T["_output"]`. A member that is not there gives
 * `any`, which codegen reports.
 */
export function schemaType(checker: ts.TypeChecker, contract: ts.Type, request: SchemaTypeRequest): ts.Type {
  const path = [...request.accessPath, ...(request.zod === 4 ? ["_zod", request.io] : [request.io === "output" ? "_output" : "_input"])];
  let type = contract;
  for (const key of path) {
    if (type.flags & ts.TypeFlags.Any) return type;
    const member = checker.getPropertyOfType(type, key);
    if (member === undefined) return checker.getAnyType();
    type = checker.getTypeOfSymbol(member);
  }
  return type;
}

/** Prints a type as the compiler does, laying out object literals member by member to attach their docs. */
export class TypePrinter {
  constructor(private readonly checker: ts.TypeChecker) {}

  print(type: ts.Type, node: ts.Node, schema: JsonSchema | undefined, indent: string): string {
    if (this.isObjectLiteral(type)) return this.printObject(type, node, schema, indent);
    const element = this.arrayElement(type);
    if (element !== undefined) {
      const printed = this.print(element, node, asSchema(schema?.items), indent);
      return element.isUnion() || printed.includes("=>") ? `(${printed})[]` : `${printed}[]`;
    }
    if (type.isUnion() && !(type.flags & ts.TypeFlags.Boolean) && !this.isEnum(type)) {
      // `T | undefined` (optional), `T | null` (nullable): print T member by member, keeping its docs.
      const members = type.types;
      const core = members.filter((member) => !(member.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
      if (core.length === 1 && (this.isObjectLiteral(core[0]!) || this.arrayElement(core[0]!) !== undefined)) {
        const coreSchema = branches(schema).find((branch) => branch.type !== "null") ?? schema;
        return members.map((member) => (member === core[0] ? this.print(member, node, coreSchema, indent) : this.text(member, node))).join(" | ");
      }
    }
    return this.text(type, node);
  }

  private printObject(type: ts.Type, node: ts.Node, schema: JsonSchema | undefined, indent: string): string {
    const inner = `${indent}  `;
    const properties = asSchema(schema?.properties) ?? {};
    const members = this.checker.getPropertiesOfType(type).map((property) => {
      const name = property.getName();
      const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
      const propertySchema = asSchema(properties[name]);
      const doc = typeof propertySchema?.description === "string" ? jsDoc(propertySchema.description, inner) : "";
      const key = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
      return `${doc}${inner}${key}${optional ? "?" : ""}: ${this.print(this.checker.getTypeOfSymbolAtLocation(property, node), node, propertySchema, inner)};`;
    });
    const stringIndex = type.getStringIndexType();
    const numberIndex = type.getNumberIndexType();
    if (stringIndex) members.push(`${inner}[key: string]: ${this.text(stringIndex, node)};`);
    if (numberIndex) members.push(`${inner}[key: number]: ${this.text(numberIndex, node)};`);
    return members.length ? `{\n${members.join("\n")}\n${indent}}` : "{}";
  }

  /** The element type of `T[]` or `readonly T[]`, else undefined. */
  private arrayElement(type: ts.Type): ts.Type | undefined {
    const name = type.getSymbol()?.getName();
    if (name !== "Array" && name !== "ReadonlyArray") return undefined;
    const args = this.checker.getTypeArguments(type as ts.TypeReference);
    return args.length === 1 ? args[0] : undefined;
  }

  /** An anonymous object type the compiler would print as `{ … }`: not an array, tuple, function, Date or other named type. */
  private isObjectLiteral(type: ts.Type): boolean {
    if (!(type.flags & ts.TypeFlags.Object) || this.arrayElement(type) !== undefined || this.isTuple(type) || type.getCallSignatures().length > 0) return false;
    if (type.aliasSymbol !== undefined) return false;
    const symbol = type.getSymbol();
    return symbol === undefined || symbol.getName() === "__type" || symbol.getName() === "__object";
  }

  private isTuple(type: ts.Type): boolean {
    const target = (type as Partial<ts.TypeReference>).target;
    return target !== undefined && (target.objectFlags & ts.ObjectFlags.Tuple) !== 0;
  }

  /** An enum type, or a union of an enum's members (as ts-morph's `Type.isEnum` decides). */
  private isEnum(type: ts.Type): boolean {
    if (type.flags & ts.TypeFlags.Enum) return true;
    if (type.flags & ts.TypeFlags.EnumLiteral && !type.isUnion()) return false;
    const declaration = type.getSymbol()?.valueDeclaration;
    return declaration !== undefined && ts.isEnumDeclaration(declaration);
  }

  private text(type: ts.Type, node: ts.Node): string {
    return this.checker.typeToString(type, node, FLAGS);
  }
}

function branches(schema: JsonSchema | undefined): JsonSchema[] {
  const list = (schema?.anyOf ?? schema?.oneOf) as JsonSchema[] | undefined;
  return Array.isArray(list) ? list : [];
}

function asSchema(value: unknown): JsonSchema | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonSchema) : undefined;
}

/** A JSDoc block; `*\/` inside the text is broken up so it cannot end the comment. */
export function jsDoc(description: string, indent: string): string {
  const lines = description.replace(/\*\//g, "*\\/").split(/\r?\n/);
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((line) => `${indent} * ${line}`.trimEnd()).join("\n")}\n${indent} */\n`;
}
