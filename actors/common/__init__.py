"""What several services share: user and image models, request options, resource units,
object labels and names, scheduling and storage builders, the operation runner and the
services' tuning.

Services (labs, file servers, migrations, images, fsadmin) import from here and never from
each other, so each can change without reaching into a sibling.
"""
