"""One construct per Lambda function (`<key>.py`): its environment, actions, grants, event
sources and cdk-nag acknowledgments. `stacks/functions_stack.py` composes them."""
