"""One construct per Lambda function: `<key>.py` for each `datamodel.functions.FUNCTIONS`
key builds its environment, actions, grants, event sources and cdk-nag acknowledgments,
and exports its class as `CONSTRUCT` (a `common.FunctionConstruct`).
`stacks/functions_stack.py` finds and composes them by that convention."""
