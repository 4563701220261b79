/** `get_status` → `GetStatus`, `robot_arm` → `RobotArm`, `GRIPPER_CLOSED` → `GripperClosed`. */
export function pascalCase(name: string): string {
  const parts = name.split(/_+/).filter(Boolean);
  return parts
    .map((part) => (part === part.toUpperCase() ? part.charAt(0) + part.slice(1).toLowerCase() : part.charAt(0).toUpperCase() + part.slice(1)))
    .join("") || "_";
}

/** `robot_arm` → `robotArm`. */
export function camelCase(name: string): string {
  const pascal = pascalCase(name);
  return pascal.charAt(0).toLowerCase() + pascal.slice(1);
}

/** The names codegen gives the declarations of one service. */
export function serviceNames(service: string) {
  const s = pascalCase(service);
  return {
    client: `${s}ServiceClient`,
    handlers: `${s}ServiceHandlers`,
    register: `register${s}Service`,
    topics: `${camelCase(service)}Topics`,
    params: (member: string) => `${s}${pascalCase(member)}Params`,
    paramsInput: (member: string) => `${s}${pascalCase(member)}ParamsInput`,
    result: (member: string) => `${s}${pascalCase(member)}Result`,
    item: (member: string) => `${s}${pascalCase(member)}Item`,
    error: (error: string) => `${s}${pascalCase(error).replace(/Error$/, "")}Error`,
    errorData: (error: string) => `${s}${pascalCase(error).replace(/Error$/, "")}ErrorData`,
  };
}
