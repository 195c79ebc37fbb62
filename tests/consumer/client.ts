// Type-checked by .ci/speclint against the types openapi-typescript generates from the
// document of the `renders_a_small_host` spec test (written as api.d.ts beside this file).
// If the document stops describing these operations, parameters or bodies, `tsc` fails.
import type { components, operations, paths } from "./api";

type User = components["schemas"]["User"];

type GetUser = paths["/users/{userId}"]["get"];
type UserResponse = GetUser["responses"][200]["content"]["application/json"];
type NotFound = GetUser["responses"][404]["content"]["application/json"];

// Path and query parameters, typed as observed.
const params: GetUser["parameters"] = {
  path: { userId: 1 },
  query: { fields: "name", expand: "team" },
  header: { "x-tenant-id": 42 },
};

// The lifted `User` component, with its formats and its nullable nickname.
const user: UserResponse = {
  id: 1,
  name: "Ada",
  email: "ada@example.com",
  created_at: "2024-05-01T10:00:00Z",
  nickname: null,
};
const nickname: string | null = user.nickname;
const asComponent: User = user;

const notFound: NotFound = { error: "not found", code: 404 };

// The request body of `POST /users`: `admin` is optional, `name` and `email` are required.
type CreateUser = NonNullable<
  operations["postUsers"]["requestBody"]
>["content"]["application/json"];
const create: CreateUser = { name: "Grace", email: "grace@example.com" };

// A list of users.
type ListUsers =
  paths["/users"]["get"]["responses"][200]["content"]["application/json"];
const list: ListUsers = [user, asComponent];

// Required properties are required: these must not compile.
// @ts-expect-error `email` is required in the request body.
const missing: CreateUser = { name: "Grace" };
// @ts-expect-error `userId` is an integer.
const wrongId: GetUser["parameters"]["path"] = { userId: "one" };

export { params, user, nickname, notFound, create, list, missing, wrongId };
